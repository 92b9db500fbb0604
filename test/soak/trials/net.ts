import { AsyncLocalStorage } from 'node:async_hooks';
import type { Rng } from './rng.ts';

/**
 * Device clocks. All clients share one Node process, so a client's clock is skewed by running
 * everything it does (its writes, its sync timers, the Dexie callbacks they schedule) inside an
 * AsyncLocalStorage context that `Date.now` reads. Installed once, before any registry opens,
 * so every clock the library builds (`new HybridClock(node)` takes `Date.now` by default)
 * reads the skewed time too.
 */
const device = new AsyncLocalStorage<{ skewMs: number }>();
const realNow = Date.now.bind(Date);
let installed = false;

export function installDeviceClocks(): void {
  if (installed) return;
  installed = true;
  Date.now = () => realNow() + (device.getStore()?.skewMs ?? 0);
}

/** Runs `fn` (and all it schedules) on a device whose clock is `skewMs` off. */
export function onDevice<T>(skewMs: number, fn: () => T): T {
  return device.run({ skewMs }, fn);
}

/** The true time, whatever device the caller runs on. */
export const trueNow = realNow;

/** What the network does to one request. */
export type NetFault = 'drop-request' | 'drop-response' | 'duplicate' | 'duplicate-parallel';
export const NET_FAULTS: NetFault[] = ['drop-request', 'drop-response', 'duplicate', 'duplicate-parallel'];

/** One client's network: offline, a rate of faults, and a hook that may restart the server mid-push. */
export interface Net {
  offline: boolean;
  /** Chance that a request meets a fault. */
  faultRate: number;
  /** When set, the next push request runs this (a server restart) while in flight. */
  onPush: (() => Promise<void>) | undefined;
  fetch: typeof fetch;
}

async function drain(res: Response): Promise<void> {
  await res.arrayBuffer().catch(() => undefined);
}

/** A fetch that loses requests and answers and delivers requests twice, counting each fault in `counts`. */
export function faultyNet(rng: Rng, counts: Record<string, number>): Net {
  const net: Net = {
    offline: false,
    faultRate: 0,
    onPush: undefined,
    fetch: async (input, init) => {
      if (net.offline) throw new TypeError('fetch failed (offline)');
      const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
      if (net.onPush && url.endsWith('/sync/push')) {
        const restart = net.onPush;
        net.onPush = undefined;
        const sent = fetch(input, init);
        sent.catch(() => undefined);
        await new Promise((r) => setTimeout(r, rng.int(0, 20)));
        await restart();
        return sent;
      }
      // A body that is a stream cannot be sent twice: such requests only meet drops.
      const replayable = !(init?.body instanceof ReadableStream);
      if (net.faultRate === 0 || !rng.chance(net.faultRate)) return fetch(input, init);
      const fault = rng.pick(replayable ? NET_FAULTS : NET_FAULTS.slice(0, 2));
      counts[fault] = (counts[fault] ?? 0) + 1;
      switch (fault) {
        case 'drop-request':
          throw new TypeError('fetch failed (request lost)');
        case 'drop-response':
          await drain(await fetch(input, init));
          throw new TypeError('fetch failed (answer lost)');
        case 'duplicate': {
          const first = await fetch(input, init);
          const keepFirst = rng.chance(0.5);
          if (!keepFirst) await drain(first);
          const second = await fetch(input, init);
          if (keepFirst) {
            await drain(second);
            return first;
          }
          return second;
        }
        case 'duplicate-parallel': {
          const [a, b] = await Promise.all([fetch(input, init), fetch(input, init)]);
          const keep = rng.chance(0.5) ? a : b;
          await drain(keep === a ? b : a);
          return keep;
        }
      }
    },
  };
  return net;
}
