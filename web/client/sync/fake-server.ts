// A scripted stand-in for the sync server, for the engine's unit tests (Node, fake-indexeddb):
// real HTTP responses through the engine's own client, answers chosen per test. Not part of the
// library; the Node tests in test/sync run the real Worker.
import type { MutationResult, PullResponse, PushRequest, PushResponse, WireMutation } from '../../../shared/sync.ts';

export interface Pushed {
  namespace: string;
  body: PushRequest;
}

/** A whole answer, or one per mutation: a result, `undefined` for applied, `'stop'` to stop early there. */
export type PushAnswer = Response | ((m: WireMutation, i: number) => MutationResult | 'stop' | undefined);

/** `fetch` for a registry: pushes go to `push` (default: all applied), pulls to `pull` (default: nothing new). */
export function fakeServer(opts: { serverTime?: () => number; push?: (p: Pushed) => PushAnswer; pull?: (ns: string) => Partial<PullResponse> | Response } = {}) {
  const pushes: Pushed[] = [];
  /** Requests to anything but push and pull: a small blob's PUT is taken, the rest answered 404. */
  const other: string[] = [];
  const last = new Map<string, number>();
  const time = opts.serverTime ?? Date.now;
  let offline = false;
  const json = (body: unknown, status = 200) => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
  const fetcher: typeof fetch = async (input, init) => {
    if (offline) throw new TypeError('Failed to fetch (offline)');
    const url = new URL(String(input));
    // A new device's bootstrap: an empty namespace (the engine's tests start from nothing).
    if (/\/namespaces\/[^/]+\/sync\/snapshot$/.test(url.pathname)) {
      return json({ cursor: 0, models: [], versions: [], metadata: [], aliases: [], artifacts: [], checkpoints: [], params: [], metrics: [] });
    }
    const m = /\/namespaces\/([^/]+)\/sync\/(push|pull)$/.exec(url.pathname);
    if (!m) {
      other.push(`${init?.method ?? 'GET'} ${url.pathname}`);
      // A small blob in one request: taken (the real server verifies it; the engine's tests do not need that).
      if (init?.method === 'PUT' && /\/blobs\/sha256\/[0-9a-f]{64}$/.test(url.pathname)) return new Response(null, { status: 201 });
      return json({ error: { code: 'route-not-found', message: 'no route' } }, 404);
    }
    const ns = m[1]!;
    if (m[2] === 'pull') {
      const answer = opts.pull?.(ns) ?? {};
      if (answer instanceof Response) return answer;
      return json({ changes: [], cursor: 0, more: false, lastMutationSeq: last.get(ns) ?? 0, serverTime: time(), ...answer });
    }
    const body = JSON.parse(String(init?.body)) as PushRequest;
    pushes.push({ namespace: ns, body });
    const answer = opts.push?.({ namespace: ns, body }) ?? (() => undefined);
    if (answer instanceof Response) return answer;
    const results: MutationResult[] = [];
    for (const [i, mut] of body.mutations.entries()) {
      const r = answer(mut, i);
      if (r === 'stop') break;
      results.push(r ?? { seq: mut.seq, status: 'applied' });
    }
    const done = results.length ? results.at(-1)!.seq : (last.get(ns) ?? 0);
    last.set(ns, Math.max(last.get(ns) ?? 0, done));
    const res: PushResponse = { results, lastMutationSeq: last.get(ns)!, complete: results.length === body.mutations.length, serverTime: time() };
    return json(res);
  };
  return {
    fetcher,
    pushes,
    other,
    set offline(v: boolean) {
      offline = v;
    },
    /** Every mutation pushed, in order. */
    names: () => pushes.flatMap((p) => p.body.mutations.map((m) => m.name)),
  };
}
