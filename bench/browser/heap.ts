import type { Page } from 'playwright-core';

const MiB = 2 ** 20;

interface HeapUsage {
  usedSize: number;
  backingStorageSize: number;
}

/** V8's heap plus ArrayBuffer backing stores: exactly what `performance.memory.usedJSHeapSize` reports for a page. */
const bytesOf = (u: HeapUsage) => u.usedSize + u.backingStorageSize;

export interface HeapWatch {
  /** Collects garbage in the page and its workers, takes the baseline, then samples every 50 ms. */
  start(): Promise<void>;
  /** Stops sampling; resolves with the highest total seen less the baseline, in MiB. */
  stop(): Promise<number>;
}

/**
 * Watches the JS memory of a page together with the dedicated Web Workers it starts (the client
 * library hashes large files in one), which `performance.memory` in the page does not see.
 * Through the DevTools protocol: `Runtime.getHeapUsage` on the page's own session, and on each
 * worker through the same session's auto-attach in non-flat mode (Playwright gives workers no
 * CDP session), its messages wrapped in `Target.sendMessageToTarget`.
 */
export async function watchHeap(page: Page, everyMs = 50): Promise<HeapWatch> {
  const cdp = await page.context().newCDPSession(page);
  const workers = new Set<string>();
  const waiting = new Map<number, { sessionId: string; resolve: (result: unknown) => void }>();
  let lastId = 0;

  cdp.on('Target.attachedToTarget', ({ sessionId, targetInfo }) => {
    if (targetInfo.type === 'worker') workers.add(sessionId);
  });
  cdp.on('Target.detachedFromTarget', ({ sessionId }) => {
    if (!sessionId) return;
    workers.delete(sessionId);
    // A worker that ends never answers: settle what was asked of it.
    for (const [id, w] of waiting) if (w.sessionId === sessionId) (waiting.delete(id), w.resolve(null));
  });
  cdp.on('Target.receivedMessageFromTarget', ({ message }) => {
    const { id, result } = JSON.parse(message) as { id: number; result?: unknown };
    waiting.get(id)?.resolve(result ?? null);
    waiting.delete(id);
  });
  await cdp.send('Target.setAutoAttach', { autoAttach: true, waitForDebuggerOnStart: false, flatten: false });

  const inWorker = (sessionId: string, method: string) =>
    new Promise<unknown>((resolve) => {
      const id = ++lastId;
      waiting.set(id, { sessionId, resolve });
      cdp.send('Target.sendMessageToTarget', { sessionId, message: JSON.stringify({ id, method }) }).catch(() => {
        waiting.delete(id);
        resolve(null);
      });
    });

  const everywhere = (method: 'Runtime.getHeapUsage' | 'HeapProfiler.collectGarbage') =>
    Promise.all([cdp.send(method), ...[...workers].map((s) => inWorker(s, method))]) as Promise<(HeapUsage | null)[]>;

  const total = async () => (await everywhere('Runtime.getHeapUsage')).reduce((sum, u) => sum + (u ? bytesOf(u) : 0), 0);

  let baseline = 0;
  let peak = 0;
  let sampling: Promise<void> | undefined;
  let running = false;

  return {
    async start() {
      await everywhere('HeapProfiler.collectGarbage');
      baseline = peak = await total();
      running = true;
      sampling = (async () => {
        while (running) {
          await new Promise((r) => setTimeout(r, everyMs));
          peak = Math.max(peak, await total());
        }
      })();
    },
    async stop() {
      running = false;
      await sampling;
      peak = Math.max(peak, await total());
      await cdp.detach();
      return (peak - baseline) / MiB;
    },
  };
}
