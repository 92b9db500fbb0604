import { ErrorCode, HangarError } from '../../../shared/errors.ts';
import { LIMITS } from '../../../shared/limits.ts';
import type { Change, PullResponse } from '../../../shared/sync.ts';
import { pointsOfRefs, type MetricsLogRef } from '../../db/metrics.ts';

/**
 * Bytes a metric point takes in a pulled page, as JSON (`{"id":…,"key":…,…}`): what a change
 * that names segments is counted at against `LIMITS.pullPageBytes` before its points are read.
 */
const PULLED_POINT_BYTES = 120;

const isLogRef = (c: { entity: string; op: string }, data: unknown): data is MetricsLogRef =>
  c.entity === 'metrics' && c.op === 'log' && typeof data === 'object' && data !== null && Array.isArray((data as MetricsLogRef).segments);

/**
 * A page of the namespace's change log after `cursor`, with the client's `lastMutationSeq`.
 * A page holds at most `limit` changes and stops at `LIMITS.pullPageBytes` of change data.
 */
export async function pull(db: D1Database, namespace: string, q: { clientId: string; cursor: number; limit: number }): Promise<PullResponse> {
  const [page, client, end] = await db.batch<Record<string, unknown>>([
    db
      .prepare('SELECT seq, entity, entity_id, op, data, hlc FROM change_log WHERE namespace = ? AND seq > ? ORDER BY seq LIMIT ?')
      .bind(namespace, q.cursor, q.limit + 1),
    db.prepare('SELECT last_seq FROM sync_clients WHERE namespace = ? AND client_id = ?').bind(namespace, q.clientId),
    db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'change_log'"),
  ]);
  const lastSeq = (end?.results[0]?.seq as number | undefined) ?? 0;
  if (q.cursor > lastSeq) {
    throw new HangarError(ErrorCode.CursorAhead, `Cursor ${q.cursor} is past the end of this server's change log (${lastSeq}); pull again from 0.`, {
      cursor: q.cursor,
      last: lastSeq,
    });
  }
  const rows = (page?.results ?? []) as unknown as ChangeRow[];
  const changes: Change[] = [];
  let bytes = 0;
  for (const row of rows.slice(0, q.limit)) {
    const data: unknown = JSON.parse(row.data);
    bytes += isLogRef(row, data) ? data.count * PULLED_POINT_BYTES : row.data.length;
    if (changes.length > 0 && bytes > LIMITS.pullPageBytes) break;
    changes.push({ seq: row.seq, entity: row.entity, entityId: row.entity_id, op: row.op, data: data as Change['data'], hlc: row.hlc });
  }
  await materializePoints(db, changes);
  return {
    changes,
    cursor: changes.at(-1)?.seq ?? q.cursor,
    more: changes.length < rows.length,
    lastMutationSeq: (client?.results[0]?.last_seq as number | undefined) ?? 0,
    serverTime: Date.now(),
  };
}

/**
 * A metrics log in the change log names the segments it wrote (DESIGN §3b): the page carries
 * their points instead, as the log carried them before (`{points: [{id, key, value, step,
 * wallclock}]}`), read in one query per page.
 */
async function materializePoints(db: D1Database, changes: Change[]): Promise<void> {
  const refs: [string, string, string][] = [];
  for (const c of changes) if (isLogRef(c, c.data)) for (const [key, idMax] of c.data.segments) refs.push([c.entityId, key, idMax]);
  if (!refs.length) return;
  const points = await pointsOfRefs(db, refs);
  for (const c of changes) {
    if (!isLogRef(c, c.data)) continue;
    c.data = { points: c.data.segments.flatMap(([key, idMax]) => points.get(`${c.entityId}\0${key}\0${idMax}`) ?? []) };
  }
}

interface ChangeRow {
  seq: number;
  entity: Change['entity'];
  entity_id: string;
  op: string;
  data: string;
  hlc: string;
}
