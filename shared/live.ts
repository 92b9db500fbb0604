import type { Change } from './sync.ts';

/**
 * The live channel (DESIGN §6 "Live"): a WebSocket to `…/namespaces/{ns}/sync/live` on which the
 * server pokes the client with the change log's new cursor; the client then pulls, unless the
 * poke carried the rows themselves (see {@link Poke}).
 *
 * Browsers cannot set `Authorization` on a WebSocket, so the token travels as a subprotocol:
 * the client offers `[LIVE_SUBPROTOCOL, LIVE_TOKEN_PREFIX + token]` and the server, having
 * checked the token (namespace, role, origin, expiry) as on every route, answers with
 * `LIVE_SUBPROTOCOL` alone, never echoing the token. A non-browser client may send
 * `Authorization: Bearer …` instead.
 */

/**
 * The subprotocol a live socket speaks; the number changes when the messages below change in a
 * way an older peer would misread. An optional field an older client ignores (a poke's `from`
 * and `changes`) keeps it.
 */
export const LIVE_SUBPROTOCOL = 'hangar.live.1';
/** The subprotocol carrying the token: this prefix, then the token. */
export const LIVE_TOKEN_PREFIX = 'hangar.bearer.';
/** A client's keep-alive message; the server answers `LIVE_PONG` without waking up. */
export const LIVE_PING = 'ping';
export const LIVE_PONG = 'pong';

/** Close codes the server uses (4000–4999 are the application's). */
export const LIVE_CLOSE = {
  /** The token was revoked or expired: do not reconnect with it. */
  tokenInvalid: 4001,
  /** The client sent a message other than `LIVE_PING`. */
  unexpectedMessage: 4002,
} as const;

/**
 * A poke: the namespace's change log reached `cursor`; pull if yours is behind.
 *
 * Since protocol 3 (an addition, see shared/sync.ts) a poke may also carry the rows it announces:
 * `changes` is every row of the namespace's change log after `from` up to `cursor` (the last
 * one's seq), exactly as a pull page gives them, when they fit in `LIMITS.livePokeBytes`. A
 * client whose cursor is within [`from`, `cursor`) applies the rows after its cursor straight
 * from the message and moves its cursor to `cursor`; any other client (a cursor below `from`: a
 * gap) pulls. A poke without `changes` (rows too large, the hub just woke without knowing them,
 * an older server) is a plain poke.
 */
export interface Poke {
  type: 'poke';
  cursor: number;
  from?: number;
  changes?: Change[];
}

/** The token a live upgrade carries in `Sec-WebSocket-Protocol`, if any. */
export function tokenFromSubprotocols(header: string | null | undefined): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(',')) {
    const p = part.trim();
    if (p.startsWith(LIVE_TOKEN_PREFIX) && p.length > LIVE_TOKEN_PREFIX.length) return p.slice(LIVE_TOKEN_PREFIX.length);
  }
  return undefined;
}
