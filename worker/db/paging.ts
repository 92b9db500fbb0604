import { ErrorCode, HangarError } from '../../shared/errors.ts';
import { LIMITS } from '../../shared/limits.ts';
import { b64url, unb64url } from '../../shared/encoding.ts';

export interface Order {
  field: string;
  column: string;
  desc: boolean;
}

/** Parses `field [ASC|DESC]` against the fields a listing may be ordered by. */
export function parseOrderBy(text: string | undefined, allowed: Record<string, string>, fallback: string): Order {
  const m = /^\s*([A-Za-z_]+)(?:\s+(ASC|DESC))?\s*$/i.exec(text ?? fallback);
  const field = m?.[1]?.toLowerCase();
  const column = field ? allowed[field] : undefined;
  if (!m || !field || !column) {
    throw new HangarError(ErrorCode.InvalidArgument, `Invalid orderBy: use one of ${Object.keys(allowed).join(', ')}, then ASC or DESC.`, {
      orderBy: text,
      allowed: Object.keys(allowed),
    });
  }
  return { field, column, desc: m[2]?.toUpperCase() === 'DESC' };
}

interface Cursor {
  /** The order it was issued for, so a token is never reused with another one. */
  o: string;
  v: string | number;
  id: string;
}


export function encodePageToken(order: Order, value: string | number, id: string): string {
  return b64url(JSON.stringify({ o: `${order.field}:${order.desc ? 'd' : 'a'}`, v: value, id } satisfies Cursor));
}

function decodePageToken(token: string, order: Order): Cursor {
  const bad = () => new HangarError(ErrorCode.InvalidPageToken, 'The page token is not valid for this listing; start again from the first page.');
  let cursor: Partial<Cursor>;
  try {
    cursor = JSON.parse(unb64url(token)) as Partial<Cursor>;
  } catch {
    throw bad();
  }
  const ok =
    cursor?.o === `${order.field}:${order.desc ? 'd' : 'a'}` &&
    (typeof cursor.v === 'string' || typeof cursor.v === 'number') &&
    typeof cursor.id === 'string';
  if (!ok) throw bad();
  return cursor as Cursor;
}

/**
 * Keyset pagination over `(column, id)`: the SQL after the cursor and the ORDER BY / LIMIT,
 * asking for one row more than the page so the caller knows whether another page follows.
 */
export function keyset(alias: string, order: Order, pageToken: string | undefined, pageSize: number | undefined) {
  const size = pageSize ?? LIMITS.pageSizeDefault;
  const col = `${alias}.${order.column}`;
  const dir = order.desc ? 'DESC' : 'ASC';
  const cmp = order.desc ? '<' : '>';
  let where = '1';
  const params: (string | number)[] = [];
  if (pageToken) {
    const c = decodePageToken(pageToken, order);
    where = `(${col} ${cmp} ? OR (${col} = ? AND ${alias}.id ${cmp} ?))`;
    params.push(c.v, c.v, c.id);
  }
  return { where, params, orderSql: `ORDER BY ${col} ${dir}, ${alias}.id ${dir} LIMIT ${size + 1}`, size };
}

/** Cuts the extra row off and makes the next page's token from the last row kept. */
export function pageOf<R extends { id: string }>(rows: R[], size: number, order: Order, valueOf: (r: R) => string | number) {
  const items = rows.slice(0, size);
  const last = items[items.length - 1];
  const nextPageToken = rows.length > size && last ? encodePageToken(order, valueOf(last), last.id) : undefined;
  return { items, nextPageToken };
}
