import { Hono } from 'hono';
import { ErrorCode, HangarError } from '../../shared/errors.ts';
import { b64url, unb64url } from '../../shared/encoding.ts';
import { eventsQuerySchema, eventType, type HangarEvent } from '../../shared/events.ts';
import { LIMITS } from '../../shared/limits.ts';
import type { Page } from '../../shared/pages.ts';
import type { AppEnv } from '../env.ts';
import { iso, readQuery } from '../http.ts';
import type { RouteDoc } from '../openapi.ts';
import type { EventRow } from '../db/change-log.ts';

/** `/namespaces/{ns}/events`: who (token id and name) did what, when (DESIGN §4, §5). */
export const events = new Hono<AppEnv>();


/** A page token: the direction it was issued for and the last position returned. */
const encodeToken = (asc: boolean, seq: number) => b64url(JSON.stringify({ o: asc ? 'seq:a' : 'seq:d', v: seq }));

function decodeToken(token: string, asc: boolean): number {
  try {
    const t = JSON.parse(unb64url(token)) as { o?: unknown; v?: unknown };
    if (t.o === (asc ? 'seq:a' : 'seq:d') && Number.isSafeInteger(t.v) && (t.v as number) >= 0) return t.v as number;
  } catch {
    // fall through to the error below
  }
  throw new HangarError(ErrorCode.InvalidPageToken, 'The page token is not valid for this listing; start again from the first page.');
}

/** A metrics log can hold a thousand points: the listing says how many and of which keys. */
function summarise(entity: string, data: Record<string, unknown>): Record<string, unknown> {
  // Since migration 0009 the log names the segments written (worker/db/metrics.ts `logRef`).
  if (entity === 'metrics' && Array.isArray(data.segments)) {
    const segments = data.segments as [string, string][];
    return { points: data.count, keys: [...new Set(segments.map(([key]) => key))].slice(0, 20) };
  }
  if (entity !== 'metrics' || !Array.isArray(data.points)) return data;
  const points = data.points as { key?: unknown }[];
  return { points: points.length, keys: [...new Set(points.map((p) => String(p.key)))].slice(0, 20) };
}

export function rowToEvent(r: EventRow): HangarEvent {
  const data = JSON.parse(r.data) as Record<string, unknown>;
  return {
    seq: r.seq,
    at: iso(r.at),
    type: eventType(r.entity, r.op, data),
    entity: r.entity,
    entityId: r.entity_id,
    op: r.op,
    token: r.token_name === null ? null : { id: r.token_id, name: r.token_name },
    model: r.model_id && r.model_name ? { id: r.model_id, name: r.model_name } : null,
    data: summarise(r.entity, data),
  };
}

events.get('/', async function listEventsRoute(c) {
  const ns = c.req.param('ns')!;
  const q = readQuery(c, eventsQuerySchema);
  const asc = q.after !== undefined;
  const size = q.pageSize ?? LIMITS.pageSizeDefault;
  const from = q.pageToken !== undefined ? decodeToken(q.pageToken, asc) : asc ? q.after! : null;
  const where = ['c.namespace = ?'];
  const params: (string | number)[] = [ns];
  if (from !== null) {
    where.push(asc ? 'c.seq > ?' : 'c.seq < ?');
    params.push(from);
  }
  if (q.entity) {
    const list = q.entity.split(',');
    where.push(`c.entity IN (${list.map(() => '?').join(', ')})`);
    params.push(...list);
  }
  // The model a change concerns: the version's model, or the entity itself (model, alias,
  // and metadata or metrics of a model).
  const { results } = await c.env.DB.prepare(
    `SELECT c.seq, c.entity, c.entity_id, c.op, c.data, c.at, c.token_id, c.token_name, m.id AS model_id, m.name AS model_name
     FROM change_log c
     LEFT JOIN versions v ON v.id = c.entity_id
     LEFT JOIN models m ON m.id = COALESCE(v.model_id, c.entity_id)
     WHERE ${where.join(' AND ')}
     ORDER BY c.seq ${asc ? 'ASC' : 'DESC'} LIMIT ${size + 1}`,
  )
    .bind(...params)
    .all<EventRow>();
  const items = results.slice(0, size).map(rowToEvent);
  const last = items[items.length - 1];
  const page: Page<HangarEvent> = { items };
  if (results.length > size && last) page.nextPageToken = encodeToken(asc, last.seq);
  return c.json(page);
});

export const eventDocs: RouteDoc[] = [
  {
    method: 'get',
    path: '/namespaces/{ns}/events',
    summary: 'Who (token id and name) did what, when: newest first, or oldest first after a change-log position',
    query: eventsQuerySchema,
    role: 'read',
  },
];
