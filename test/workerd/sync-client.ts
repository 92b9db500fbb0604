import { expect } from 'vitest';
import { utf8Length } from '../../shared/encoding.ts';
import { formatHlc } from '../../shared/hlc.ts';
import { modelId, uuidv7 } from '../../shared/ids.ts';
import { LIMITS } from '../../shared/limits.ts';
import { PROTOCOL_HEADER, PROTOCOL_VERSION, type MutationResult, type PullResponse, type PushResponse, type WireMutation } from '../../shared/sync.ts';
import { call, type Reply } from './api.ts';

/** The protocol header every sync request carries. */
export const H = { [PROTOCOL_HEADER]: String(PROTOCOL_VERSION) };

let tick = 0;
/** A clock a second ahead of now, with a fresh counter: always later than the last one made. */
export const hlc = (node = 'dev') => formatHlc(Date.now() + 1000, ++tick % 1_000_000, node);

export type Op = { name: string; args: unknown; hlc?: string };

/** What the client engine keeps a push body under (web/client/sync/engine.ts: PUSH_BYTES). */
const PUSH_BYTES = LIMITS.jsonBodyBytes - 16 * 1024;

/** How many of `pending` one push sends, as the client engine batches: at most LIMITS.mutationsPerPush, args under the body limit. */
export function pushSize(pending: { args: unknown }[]): number {
  let bytes = 0;
  let n = 0;
  while (n < pending.length && n < LIMITS.mutationsPerPush) {
    const size = utf8Length(JSON.stringify(pending[n]!.args)) + 128;
    if (n && bytes + size > PUSH_BYTES) break;
    bytes += size;
    n++;
  }
  return n;
}

export interface PushAllStats {
  /** Pushes sent. */
  pushes: number;
  /** The most D1 queries one push used. */
  maxQueries: number;
  /** D1 queries of every push together. */
  queries: number;
  /** Every answer, in seq order. */
  results: MutationResult[];
}

/** A simulated client: numbers its mutations and remembers what the server has applied. */
export function syncClient(ns: string, token?: string) {
  const id = uuidv7();
  let seq = 0;
  let acked = 0;
  const send = (afterSeq: number, mutations: WireMutation[]) =>
    call<PushResponse>('POST', `/namespaces/${ns}/sync/push`, { token, headers: H, body: { clientId: id, afterSeq, mutations } });
  return {
    id,
    /** Numbers the ops as the outbox would, without sending them. */
    stamp: (ops: Op[]): WireMutation[] => ops.map((o) => ({ seq: ++seq, name: o.name as WireMutation['name'], args: o.args, hlc: o.hlc ?? hlc() })),
    send,
    async push(ops: Op[], opts: { afterSeq?: number; seqs?: number[] } = {}): Promise<Reply<PushResponse>> {
      const mutations = ops.map((o, i) => ({ seq: opts.seqs?.[i] ?? ++seq, name: o.name as WireMutation['name'], args: o.args, hlc: o.hlc ?? hlc() }));
      const r = await send(opts.afterSeq ?? acked, mutations);
      if (r.status === 200) acked = r.body.lastMutationSeq;
      return r;
    },
    /**
     * Sends every op as the client engine does: pushes of at most LIMITS.mutationsPerPush whose
     * args stay under the body limit, each resent from where the server stopped (`complete`).
     */
    async pushAll(ops: Op[]): Promise<PushAllStats> {
      let pending = this.stamp(ops);
      const stats: PushAllStats = { pushes: 0, maxQueries: 0, queries: 0, results: [] };
      while (pending.length) {
        const n = pushSize(pending);
        const r = await send(acked, pending.slice(0, n));
        expect(r.status, JSON.stringify(r.body).slice(0, 500)).toBe(200);
        stats.pushes++;
        stats.maxQueries = Math.max(stats.maxQueries, r.queries);
        stats.queries += r.queries;
        expect(r.body.results.length).toBeGreaterThan(0);
        expect(r.body.complete).toBe(r.body.results.length === n);
        stats.results.push(...r.body.results);
        acked = r.body.lastMutationSeq;
        pending = pending.filter((m) => m.seq > acked);
      }
      return stats;
    },
    pull: (cursor = 0, limit?: number) =>
      call<PullResponse>('GET', `/namespaces/${ns}/sync/pull?clientId=${id}&cursor=${cursor}${limit ? `&limit=${limit}` : ''}`, { token, headers: H }),
  };
}

export const statuses = (r: Reply<PushResponse>) => r.body.results.map((x: MutationResult) => x.status);

/** A `model.create` op for `name` in `ns`, with only the fields given. */
export async function newModelOp(ns: string, name: string, fields: Record<string, unknown> = {}) {
  return { name: 'model.create', args: { id: await modelId(ns, name), name, ...fields } };
}

/**
 * `n` mutations (a multiple of 10) of every kind, in the order a device makes them: per model,
 * create, update, a version, metadata set and delete, two metric logs, an artifact, a
 * checkpoint, an alias.
 */
export async function mixedOps(ns: string, n: number): Promise<Op[]> {
  const ops: Op[] = [];
  for (let i = 0; i < n / 10; i++) {
    const m = await newModelOp(ns, `m${i}`, { task: 'tabular' });
    const v = uuidv7();
    const points = (k: number) => Array.from({ length: 10 }, (_, j) => ({ id: uuidv7(), key: 'loss', value: j, step: k * 10 + j }));
    ops.push(
      m,
      { name: 'model.update', args: { id: m.args.id, fields: { description: `model ${i}` } } },
      { name: 'version.create', args: { id: v, modelId: m.args.id, description: `v of ${i}` } },
      { name: 'metadata.set', args: { parentId: v, key: 'params', value: { lr: i } } },
      { name: 'metadata.delete', args: { parentId: m.args.id, key: 'draft' } },
      { name: 'metrics.log', args: { parentId: v, points: points(0) } },
      { name: 'metrics.log', args: { parentId: v, points: points(1) } },
      { name: 'artifact.register', args: { parentId: v, path: 'model.json', url: `https://example.com/${i}.json` } },
      { name: 'checkpoint.save', args: { versionId: v, handle: 'epoch_1', files: [{ path: 'w.bin', size: 4, sha256: 'a'.repeat(64) }] } },
      { name: 'alias.set', args: { modelId: m.args.id, alias: 'prod', versionId: v, expectedVersionId: null } },
    );
  }
  return ops;
}
