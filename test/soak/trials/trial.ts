import { PROTOCOL_HEADER, PROTOCOL_VERSION } from '../../../shared/sync.ts';
import { openRegistry, type Hangar } from '../../../web/client/index.ts';
import type { HangarServer } from '../../browser/server.ts';
import { blobs, clocks, doubled, lost, type Failure } from './checks.ts';
import { hostilePush } from './hostile.ts';
import { faultyNet, onDevice, type Net } from './net.ts';
import { newLedger, pickOp, runOp, type Ledger, type OpKind } from './ops.ts';
import { Rng } from './rng.ts';
import { differences, replicaView, serverView } from './views.ts';

const DAY = 86_400_000;
/** Rounds happen when the trial says so (and after local writes), never on a timer. */
const INTERVAL_MS = 3_600_000;

/** The faults a trial may inject; each trial draws which ones it does. */
export const FAULT_KINDS = ['network', 'clock-skew', 'restart-mid-push', 'kill-mid-write', 'kill-mid-sync', 'two-tabs', 'server-switch', 'hostile-client'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];
const FAULT_CHANCE: Record<FaultKind, number> = {
  network: 0.6,
  'clock-skew': 0.35,
  'restart-mid-push': 0.12,
  'kill-mid-write': 0.25,
  'kill-mid-sync': 0.2,
  'two-tabs': 0.3,
  'server-switch': 0.2,
  'hostile-client': 0.3,
};

export interface Servers {
  a: HangarServer;
  /** The server one client moves to mid-trial. */
  b: HangarServer;
}

export interface TrialResult {
  seed: number;
  ms: number;
  failures: Failure[];
  /** Faults injected, by kind (network faults by what happened to the request). */
  faults: Record<string, number>;
  /** Writes run, by kind and outcome. */
  ops: Record<string, number>;
}

interface Client {
  index: number;
  name: string;
  skewMs: number;
  net: Net;
  hangar: Hangar;
  server: 'a' | 'b';
}

let opened = 0;
const bump = (m: Record<string, number>, k: string, by = 1) => (m[k] = (m[k] ?? 0) + by);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One seeded trial: three clients on a fresh namespace, random writes and faults, a final sync, then every check. */
export async function runTrial(seed: number, servers: Servers): Promise<TrialResult> {
  const started = Date.now();
  const rng = new Rng(seed);
  const faults: Record<string, number> = {};
  const ops: Record<string, number> = {};
  const failures: Failure[] = [];
  const ledger = newLedger();
  const ns = `soak-${seed.toString(36)}-${(++opened).toString(36)}-${Date.now().toString(36)}`;
  const tokenA = await servers.a.token(ns, 'write');
  let tokenB: string | undefined;

  const plan = new Set(FAULT_KINDS.filter((k) => rng.chance(FAULT_CHANCE[k])));
  const skewed = plan.has('clock-skew') ? rng.int(0, 2) : -1;
  const skewMs = plan.has('clock-skew') ? rng.pick([DAY, -DAY]) : 0;
  const netRng = rng.fork();

  const open = (c: Pick<Client, 'name' | 'skewMs' | 'net'>) => onDevice(c.skewMs, () => openRegistry({ name: c.name, persist: false, fetch: c.net.fetch }));
  const clients: Client[] = [];
  for (let i = 0; i < 3; i++) {
    const c = { index: i, name: `${ns}-c${i}`, skewMs: i === skewed ? skewMs : 0, net: faultyNet(netRng.fork(), faults), server: 'a' as const };
    const hangar = await open(c);
    await onDevice(c.skewMs, () => hangar.sync({ url: servers.a.url, token: tokenA, namespaces: [ns], intervalMs: INTERVAL_MS }));
    clients.push({ ...c, hangar });
  }
  if (skewed >= 0) bump(faults, `clock ${skewMs > 0 ? '+' : '-'}24 h`);
  const tabs: Hangar[] = [];

  const write = async (c: Client, kind: OpKind, h: Hangar = c.hangar, opRng: Rng = rng): Promise<void> => {
    try {
      const outcome = await onDevice(c.skewMs, () => runOp(h, ns, c.index, kind, opRng, ledger));
      bump(ops, outcome === 'done' ? kind : `${kind} (${outcome})`);
    } catch (err) {
      bump(ops, `${kind} (threw)`);
      failures.push({ class: 'op-error', detail: `client ${c.index} ${kind}: ${(err as { code?: string }).code ?? ''} ${(err as Error).message}`.slice(0, 300) });
    }
  };
  const syncQuietly = (c: Client, h: Hangar = c.hangar) => onDevice(c.skewMs, () => h.syncNow()).catch(() => undefined);

  // Every client starts from one shared model so that writes meet.
  await write(clients[0]!, 'model.create');
  for (const c of clients) await syncQuietly(c);

  const steps = rng.int(20, 40);
  const at = new Map<number, FaultKind>();
  for (const k of plan) if (k !== 'network' && k !== 'clock-skew') at.set(rng.int(3, steps - 1), k);
  try {
    for (let step = 0; step < steps; step++) {
      const special = at.get(step);
      if (special) await inject(special);
      const c = rng.pick(clients);
      const roll = rng.next();
      if (roll < 0.68) await write(c, pickOp(rng));
      else if (roll < 0.95) {
        c.net.faultRate = plan.has('network') && rng.chance(0.7) ? 0.35 : 0;
        await syncQuietly(c);
        c.net.faultRate = 0;
      } else {
        c.net.offline = !c.net.offline;
      }
    }
  } finally {
    for (const t of tabs) await t.close().catch(() => undefined);
  }

  /**
   * A device a day off still orders its edits sensibly (DESIGN §3): the skewed device edits a
   * field, then a device with a true clock edits it after seeing that, then a REST client
   * does; each later edit must win on the server.
   */
  async function orderProbe(skewedClient: Client, other: Client | undefined): Promise<Failure[]> {
    if (!other) return [];
    const out: Failure[] = [];
    const path = `/namespaces/${ns}/models/alpha`;
    const described = async () => ((await (await servers.a.api(path)).json()) as { description?: string }).description;
    try {
      await onDevice(other.skewMs, async () => {
        await other.hangar.newModel({ namespace: ns, name: 'alpha' }).catch(() => undefined);
        await other.hangar.syncNow();
      });
      await onDevice(skewedClient.skewMs, async () => {
        await skewedClient.hangar.syncNow();
        await (await skewedClient.hangar.model(ns, 'alpha')).update({ description: 'order-1' });
        await skewedClient.hangar.syncNow();
      });
      await onDevice(other.skewMs, async () => {
        await other.hangar.syncNow();
        await (await other.hangar.model(ns, 'alpha')).update({ description: 'order-2' });
        await other.hangar.syncNow();
      });
      const second = await described();
      if (second !== 'order-2') out.push({ class: 'order', detail: `a device's edit made after a ${skewedClient.skewMs > 0 ? '+' : '-'}24 h device's lost: the server shows ${JSON.stringify(second)}, not "order-2"` });
      const patched = await servers.a.api(path, { method: 'PATCH', json: { description: 'order-3' } });
      const third = await described();
      if (patched.status !== 200 || third !== 'order-3') out.push({ class: 'order', detail: `a REST edit after a ${skewedClient.skewMs > 0 ? '+' : '-'}24 h device's answered ${patched.status} and the server shows ${JSON.stringify(third)}, not "order-3"` });
      bump(faults, 'order probe');
    } catch (err) {
      // The probe's syncs or edits failing is what the wedge check reports after the final rounds.
      out.push({ class: 'order', detail: `the order probe could not run: ${(err as { code?: string }).code ?? ''} ${(err as Error).message}`.slice(0, 300) });
    }
    return out;
  }

  async function inject(kind: FaultKind): Promise<void> {
    const onA = clients.filter((c) => c.server === 'a');
    const c = rng.pick(onA.length ? onA : clients);
    switch (kind) {
      case 'restart-mid-push': {
        for (let i = 0; i < 3; i++) await write(c, pickOp(rng));
        let fired = false;
        c.net.onPush = async () => {
          fired = true;
          await servers.a.stop();
          await servers.a.start();
        };
        c.net.offline = false;
        await syncQuietly(c);
        c.net.onPush = undefined;
        if (fired) bump(faults, kind);
        return;
      }
      case 'kill-mid-write':
      case 'kill-mid-sync': {
        const opRng = rng.fork();
        const delay = rng.int(0, 6);
        // Whatever the interrupted call throws is the kill's doing, not a failure.
        const before = failures.length;
        const work = kind === 'kill-mid-write' ? write(c, rng.pick<OpKind>(['version.create', 'artifact.upload', 'metrics.log', 'checkpoint.save', 'metadata.set']), c.hangar, opRng) : syncQuietly(c);
        await sleep(delay);
        await c.hangar.close().catch(() => undefined);
        await work;
        failures.splice(before);
        c.hangar = await open(c);
        bump(faults, kind);
        return;
      }
      case 'two-tabs': {
        const tab = await open(c);
        tabs.push(tab);
        for (let i = 0; i < 2; i++) {
          await write(c, pickOp(rng), tab);
          await write(c, pickOp(rng));
        }
        await Promise.all([syncQuietly(c), syncQuietly(c, tab)]);
        await tab.close();
        tabs.splice(tabs.indexOf(tab), 1);
        bump(faults, kind);
        return;
      }
      case 'server-switch': {
        tokenB ??= await servers.b.token(ns, 'write');
        await onDevice(c.skewMs, () => c.hangar.sync({ url: servers.b.url, token: tokenB!, namespaces: [ns], intervalMs: INTERVAL_MS }));
        c.server = 'b';
        bump(faults, kind);
        return;
      }
      case 'hostile-client': {
        const r = await hostilePush(servers.a, tokenA, ns, rng.fork());
        failures.push(...r.failures);
        bump(faults, kind);
        bump(faults, 'hostile pushes', r.sent);
        return;
      }
    }
  }

  // Back online, no more faults: rounds until everyone has pushed and pulled everything.
  for (const c of clients) Object.assign(c.net, { offline: false, faultRate: 0, onPush: undefined });
  if (skewed >= 0 && clients[skewed]!.server === 'a') failures.push(...(await orderProbe(clients[skewed]!, clients.find((c) => c.index !== skewed && c.server === 'a'))));
  const lastError = new Map<number, string>();
  for (let round = 0; round < 3; round++) {
    for (const c of clients) {
      try {
        await onDevice(c.skewMs, () => c.hangar.syncNow());
        lastError.delete(c.index);
      } catch (err) {
        lastError.set(c.index, `${(err as { code?: string }).code ?? ''} ${(err as Error).message}`.slice(0, 300));
      }
    }
  }
  for (const c of clients) {
    const pending = await c.hangar.pendingMutations();
    const uploads = await c.hangar.db.uploads.filter((u) => !u.done).count();
    if (lastError.has(c.index) || pending || uploads) {
      const head = pending ? (await c.hangar.db.outbox.limit(1).toArray())[0] : undefined;
      failures.push({
        class: 'wedged',
        detail: `client ${c.index}: ${pending} mutations and ${uploads} uploads left${head ? ` (first: ${head.name} ${head.hlc})` : ''}${lastError.has(c.index) ? `; sync fails: ${lastError.get(c.index)}` : ''}`,
      });
    }
  }

  for (const side of ['a', 'b'] as const) {
    const group = clients.filter((c) => c.server === side);
    if (!group.length) continue;
    const server = servers[side];
    try {
      const theirs = await serverView(server, ns);
      for (const c of group) {
        const diff = differences(await replicaView(c.hangar, ns), theirs);
        if (diff.length) {
          failures.push({ class: 'diverged', detail: `client ${c.index} vs server ${side}: ${diff.join('; ')}`.slice(0, 600) });
          if (process.env.SOAK_DEBUG) await debugDump(server, ns, c, side === 'a' ? tokenA : tokenB!);
        }
      }
      failures.push(...doubled(theirs));
      failures.push(...lost(theirs, ledger, new Set(group.map((c) => c.index)), side));
      failures.push(...(await blobs(server, ns, theirs, ledger, group.map((c) => c.hangar))));
      failures.push(...(await clocks(server, ns)));
    } catch (err) {
      failures.push({ class: 'harness', detail: `checking server ${side}: ${(err as Error).message}`.slice(0, 300) });
    }
  }
  await closeAll(clients);
  return { seed, ms: Date.now() - started, failures, faults, ops };
}

/** SOAK_DEBUG=1: the server's change log and the diverged replica's own record, to read a failure by. */
async function debugDump(server: HangarServer, ns: string, c: Client, token: string): Promise<void> {
  const res = await fetch(`${server.url}/api/v1/namespaces/${ns}/sync/pull?clientId=01a00000-0000-7000-8000-000000000000&cursor=0`, { headers: { authorization: `Bearer ${token}`, [PROTOCOL_HEADER]: String(PROTOCOL_VERSION) } });
  const log = res.ok ? ((await res.json()) as { changes: unknown[] }).changes : await res.text();
  const db = c.hangar.db;
  console.log(JSON.stringify({
    client: c.index,
    serverLog: log,
    local: { aliases: await db.aliases.toArray(), aliasHistory: await db.aliasHistory.toArray(), versions: await db.versions.toArray(), conflicts: await db.conflicts.toArray(), state: await db.state.toArray() },
  }, null, 1));
}

async function closeAll(clients: Client[]): Promise<void> {
  for (const c of clients) {
    await c.hangar.close().catch(() => undefined);
    // fake-indexeddb keeps databases in memory: free them, a thousand trials add up.
    await new Promise<void>((resolve) => {
      const req = indexedDB.deleteDatabase(c.name);
      req.onsuccess = req.onerror = req.onblocked = () => resolve();
    });
  }
}

export type { Ledger };
