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

/** How often a client's unchanged cursor is recorded again, to tell it is still seen (an idle poll writes nothing before). */
const SEEN_EVERY_MS = 60 * 60 * 1000;

/**
 * A page of the namespace's change log after `cursor`, with the client's `lastMutationSeq`.
 * A page holds at most `limit` changes and stops at `LIMITS.pullPageBytes` of change data.
 *
 * The client's cursor is recorded (with when it was seen), so the scheduled compaction knows
 * how far every known client has pulled (DESIGN §3b). A cursor below the namespace's
 * compaction floor answers `snapshot-required`: the rows after it may be gone.
 */
export async function pull(db: D1Database, namespace: string, q: { clientId: string; cursor: number; limit: number }): Promise<PullResponse> {
  const now = Date.now();
  const [page, client, end, floor] = await db.batch<Record<string, unknown>>([
    db
      .prepare('SELECT seq, entity, entity_id, op, data, hlc FROM change_log WHERE namespace = ? AND seq > ? ORDER BY seq LIMIT ?')
      .bind(namespace, q.cursor, q.limit + 1),
    db.prepare('SELECT last_seq FROM sync_clients WHERE namespace = ? AND client_id = ?').bind(namespace, q.clientId),
    db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'change_log'"),
    db.prepare('SELECT seq FROM change_log_floors WHERE namespace = ?').bind(namespace),
    db
      .prepare(
        // Only a cursor this pull answers (not ahead of the log, not below its floor): a refused pull writes nothing.
        `INSERT INTO sync_cursors (namespace, client_id, cursor, seen_at) SELECT ?1, ?2, ?3, ?4
         WHERE ?3 <= COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'change_log'), 0)
           AND ?3 >= COALESCE((SELECT seq FROM change_log_floors WHERE namespace = ?1), 0)
         ON CONFLICT (namespace, client_id) DO UPDATE SET cursor = excluded.cursor, seen_at = excluded.seen_at
         WHERE sync_cursors.cursor <> excluded.cursor OR sync_cursors.seen_at < ?5`,
      )
      .bind(namespace, q.clientId, q.cursor, now, now - SEEN_EVERY_MS),
  ]);
  const floorSeq = (floor?.results[0]?.seq as number | undefined) ?? 0;
  if (q.cursor < floorSeq) {
    throw new HangarError(
      ErrorCode.SnapshotRequired,
      `Cursor ${q.cursor} is older than this namespace's compacted change log (kept after ${floorSeq}); bootstrap from …/sync/snapshot, then pull from its cursor.`,
      { cursor: q.cursor, floor: floorSeq },
    );
  }
  const lastSeq = (end?.results[0]?.seq as number | undefined) ?? 0;
  if (q.cursor > lastSeq) {
    throw new HangarError(ErrorCode.CursorAhead, `Cursor ${q.cursor} is past the end of this server's change log (${lastSeq}); pull again from 0.`, {
      cursor: q.cursor,
      last: lastSeq,
    });
  }
  const rows = (page?.results ?? []) as unknown as ChangeRow[];
  const changes = changesOf(rows.slice(0, q.limit), LIMITS.pullPageBytes);
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
 * Change-log rows as a page carries them, in order, stopping before the row that would take the
 * page past `maxBytes` of change data (a metrics log counted by its points); the first row is
 * always taken. A live poke builds its rows here too (worker/live.ts), so a device applies the
 * same changes whether it pulled them or read them from the poke.
 */
export function changesOf(rows: readonly ChangeRow[], maxBytes: number): Change[] {
  const changes: Change[] = [];
  let bytes = 0;
  for (const row of rows) {
    const data: unknown = JSON.parse(row.data);
    bytes += isLogRef(row, data) ? data.count * PULLED_POINT_BYTES : row.data.length;
    if (changes.length > 0 && bytes > maxBytes) break;
    changes.push({ seq: row.seq, entity: row.entity, entityId: row.entity_id, op: row.op, data: data as Change['data'], hlc: row.hlc });
  }
  return changes;
}

/**
 * A metrics log in the change log names the segments it wrote (DESIGN §3b): the page carries
 * their points instead, as the log carried them before (`{points: [{id, key, value, step,
 * wallclock}]}`), read in one query per page.
 */
export async function materializePoints(db: D1Database, changes: Change[]): Promise<void> {
  const refs: [string, string, string][] = [];
  for (const c of changes) if (isLogRef(c, c.data)) for (const [key, idMax] of c.data.segments) refs.push([c.entityId, key, idMax]);
  if (!refs.length) return;
  const points = await pointsOfRefs(db, refs);
  for (const c of changes) {
    if (!isLogRef(c, c.data)) continue;
    c.data = { points: c.data.segments.flatMap(([key, idMax]) => points.get(`${c.entityId}\0${key}\0${idMax}`) ?? []) };
  }
}

/** A change-log row as D1 answers `SELECT seq, entity, entity_id, op, data, hlc`. */
export interface ChangeRow {
  seq: number;
  entity: Change['entity'];
  entity_id: string;
  op: string;
  data: string;
  hlc: string;
}
