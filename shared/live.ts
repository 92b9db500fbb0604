/**
 * The live channel (DESIGN §6 "Live"): a WebSocket to `…/namespaces/{ns}/sync/live` on which the
 * server pokes the client with the change log's new cursor; the client then pulls.
 *
 * Browsers cannot set `Authorization` on a WebSocket, so the token travels as a subprotocol:
 * the client offers `[LIVE_SUBPROTOCOL, LIVE_TOKEN_PREFIX + token]` and the server, having
 * checked the token (namespace, role, origin, expiry) as on every route, answers with
 * `LIVE_SUBPROTOCOL` alone, never echoing the token. A non-browser client may send
 * `Authorization: Bearer …` instead.
 */

/** The subprotocol a live socket speaks; the number changes when the messages below do. */
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

/** A poke: the namespace's change log reached `cursor`; pull if yours is behind. */
export interface Poke {
  type: 'poke';
  cursor: number;
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
