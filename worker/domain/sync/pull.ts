import { ErrorCode, HangarError } from '../../../shared/errors.ts';
import { LIMITS } from '../../../shared/limits.ts';
import type { Change, PullResponse } from '../../../shared/sync.ts';

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
    bytes += row.data.length;
    if (changes.length > 0 && bytes > LIMITS.pullPageBytes) break;
    changes.push({ seq: row.seq, entity: row.entity, entityId: row.entity_id, op: row.op, data: JSON.parse(row.data), hlc: row.hlc });
  }
  return {
    changes,
    cursor: changes.at(-1)?.seq ?? q.cursor,
    more: changes.length < rows.length,
    lastMutationSeq: (client?.results[0]?.last_seq as number | undefined) ?? 0,
    serverTime: Date.now(),
  };
}

interface ChangeRow {
  seq: number;
  entity: Change['entity'];
  entity_id: string;
  op: string;
  data: string;
  hlc: string;
}
