// "Push of 500 mixed mutations": the production D1 queries a push of 500 mutations of every
// kind uses, and its time against a per-mutation peer, in the same workerd.
import { env } from 'cloudflare:test';
import { expect } from 'vitest';
import { uuidv7 } from '../../shared/ids.ts';
import type { PushResponse, WireMutation } from '../../shared/sync.ts';
import type { Caller } from '../../worker/env.ts';
import { QueryBudget } from '../../worker/domain/sync/budget.ts';
import { RowCache } from '../../worker/domain/sync/cache.ts';
import { applyOne, push } from '../../worker/domain/sync/push.ts';
import { limitedD1, type D1Usage } from '../../test/workerd/d1-limits.ts';
import { hlc, mixedOps, pushSize } from '../../test/workerd/sync-client.ts';

const ADMIN: Caller = { tokenId: null, tokenName: 'bench', namespace: '*', role: 'admin', origins: null, expiresAt: null };
export const MIXED = 500;

let namespaces = 0;

/** 500 mixed mutations for a fresh namespace, numbered as an outbox numbers them. */
export async function mixedMutations(): Promise<{ ns: string; mutations: WireMutation[] }> {
  const ns = `mixed${++namespaces}`;
  const ops = await mixedOps(ns, MIXED);
  return { ns, mutations: ops.map((o, i) => ({ seq: i + 1, name: o.name as WireMutation['name'], args: o.args, hlc: hlc('bench') })) };
}

/**
 * Hangar: the push as the route runs it (the domain `push`, each call one invocation with its
 * own D1 binding that counts and enforces production limits), sent as the client engine sends
 * it: bodies under the size limit, resent from where the server stopped while `complete` is false.
 */
export async function pushMixed(ns: string, mutations: WireMutation[]): Promise<{ queries: number; pushes: number; maxQueries: number }> {
  const clientId = uuidv7();
  let acked = 0;
  let queries = 0;
  let pushes = 0;
  let maxQueries = 0;
  let pending = mutations;
  while (pending.length) {
    const n = pushSize(pending);
    const usage: D1Usage = { queries: 0 };
    const out: PushResponse = await push(limitedD1(env.DB, usage), ADMIN, ns, { clientId, afterSeq: acked, mutations: pending.slice(0, n) });
    pushes++;
    queries += usage.queries;
    maxQueries = Math.max(maxQueries, usage.queries);
    expect(out.results.every((r) => r.status === 'applied')).toBe(true);
    acked = out.lastMutationSeq;
    pending = pending.filter((m) => m.seq > acked);
  }
  return { queries, pushes, maxQueries };
}

/**
 * The peer: the same mutations applied as before this change, one at a time, each its own
 * domain call (reading its rows afresh) with its seq record in its batch, no budget.
 */
export async function perMutation(ns: string, mutations: WireMutation[]): Promise<{ queries: number }> {
  const usage: D1Usage = { queries: -Infinity };
  const db = limitedD1(env.DB, usage);
  let queries = 0;
  const who = { namespace: ns, clientId: uuidv7(), tokenId: null };
  for (const m of mutations) {
    // Each mutation counted on its own (the peer has no per-invocation budget).
    usage.queries = 0;
    const r = await applyOne(db, new QueryBudget(Infinity), new RowCache(db, ns), who, m);
    expect(r.status, JSON.stringify(r)).toBe('applied');
    queries += usage.queries;
  }
  return { queries };
}

/** Both sides' work is the same: every mutation applied (each side in its own namespace). */
export async function checkApplied(ns: string): Promise<void> {
  const n = async (sql: string) => (await env.DB.prepare(sql).bind(ns).first<number>('n')) ?? 0;
  expect(await n('SELECT COUNT(*) AS n FROM models WHERE namespace = ?')).toBe(MIXED / 10);
  expect(await n('SELECT COALESCE(SUM(s.n), 0) AS n FROM metric_segments s JOIN metric_series ser ON ser.id = s.series WHERE ser.namespace = ?')).toBe((MIXED / 10) * 20);
  expect(await n('SELECT COUNT(*) AS n FROM aliases WHERE namespace = ?')).toBe(MIXED / 10);
}
