import { DurableObject } from 'cloudflare:workers';
import { ErrorCode, HangarError } from '../shared/errors.ts';
import { LIMITS } from '../shared/limits.ts';
import { LIVE_CLOSE, LIVE_PING, LIVE_PONG, LIVE_SUBPROTOCOL, type Poke } from '../shared/live.ts';
import type { Caller } from './env.ts';
import { STATUS_BY_CODE } from './errors.ts';

/** What each socket keeps across hibernation (`serializeAttachment`). */
interface SocketInfo {
  namespace: string;
  /** The token's id; null for the admin token from `HANGAR_ADMIN_TOKEN`. */
  tokenId: string | null;
  expiresAt: number | null;
}

/** The tag a socket is filed under, to count one token's sockets. */
const tagOf = (tokenId: string | null) => `token:${tokenId ?? 'admin'}`;

/** Token ids per D1 statement when checking for revocation (under the 100 bound parameters). */
const IDS_PER_QUERY = 90;

/**
 * One per namespace (DESIGN §6 "Live"): holds the namespace's live WebSockets with the
 * hibernation API, so idle sockets cost no running time. The Worker tells it after each write
 * (`changed`); it reads the change log's cursor and pokes every socket whose token is still
 * valid with it. A revoked or expired token's socket is closed at the next poke, at the
 * token's expiry (an alarm), or when its token is revoked through the API.
 */
export class LiveHub extends DurableObject<Env> {
  /** The cursor last poked; -1 until the first poke since this object woke. */
  private poked = -1;
  private running: Promise<void> | undefined;
  private again = false;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    // Keep-alive pings are answered by the runtime without waking the object.
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(LIVE_PING, LIVE_PONG));
  }

  /** Accepts an upgrade the Worker has already authenticated (token, namespace, role, origin). */
  override async fetch(request: Request): Promise<Response> {
    const info = JSON.parse(request.headers.get('x-hangar-live') ?? 'null') as SocketInfo | null;
    if (!info || request.headers.get('upgrade')?.toLowerCase() !== 'websocket') {
      return refuse(new HangarError(ErrorCode.InvalidArgument, 'A live connection is a WebSocket upgrade.'));
    }
    if (this.ctx.getWebSockets().length >= LIMITS.liveSocketsPerNamespace) {
      return refuse(tooMany(`This namespace holds ${LIMITS.liveSocketsPerNamespace} live connections, the most it may.`));
    }
    if (this.ctx.getWebSockets(tagOf(info.tokenId)).length >= LIMITS.liveSocketsPerToken) {
      return refuse(tooMany(`This token holds ${LIMITS.liveSocketsPerToken} live connections to this namespace, the most it may.`));
    }
    const { 0: client, 1: server } = new WebSocketPair();
    this.ctx.acceptWebSocket(server, [tagOf(info.tokenId)]);
    server.serializeAttachment(info);
    if (info.expiresAt !== null) await this.wakeBy(info.expiresAt);
    return new Response(null, { status: 101, webSocket: client, headers: { 'Sec-WebSocket-Protocol': LIVE_SUBPROTOCOL } });
  }

  /**
   * The namespace's change log may have moved: read its cursor and poke every socket if it did.
   * Calls that arrive while one runs are folded into one more run after it.
   */
  async changed(namespace: string): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      try {
        do {
          this.again = false;
          await this.pokeAll(namespace);
        } while (this.again);
      } finally {
        this.running = undefined;
      }
    })();
    return this.running;
  }

  /** A token of this namespace was revoked: close its sockets now. */
  async revoked(): Promise<void> {
    await this.dropInvalid();
  }

  /** How many sockets this namespace holds (for benchmarks and tests). */
  async sockets(): Promise<number> {
    return this.ctx.getWebSockets().length;
  }

  private async pokeAll(namespace: string): Promise<void> {
    const sockets = this.ctx.getWebSockets();
    if (sockets.length === 0) return;
    // The cursor and the tokens' validity in one D1 batch: one round trip before the pokes go.
    const infos = infosOf(sockets);
    const cursorQuery = this.env.DB.prepare('SELECT max(seq) AS seq FROM change_log WHERE namespace = ?').bind(namespace);
    const [row, ...tokenRows] = await this.env.DB.batch<{ seq?: number | null; id?: string }>([cursorQuery, ...this.tokenQueries(infos)]);
    const kept = this.closeInvalid(infos, new Set(tokenRows.flatMap((r) => r.results.map((t) => t.id!))));
    const cursor = row?.results[0]?.seq ?? 0;
    if (cursor > this.poked) {
      this.poked = cursor;
      const message = JSON.stringify({ type: 'poke', cursor } satisfies Poke);
      for (const ws of kept) {
        try {
          ws.send(message);
        } catch {
          // Closing already: the client pulls when it reconnects.
        }
      }
    }
    // After the pokes: the alarm for the earliest expiry among the sockets kept.
    await this.scheduleNextExpiry(kept.map((ws) => infos.get(ws)!));
  }

  /** Closes the sockets whose token expired or was revoked; answers the others. */
  private async dropInvalid(): Promise<WebSocket[]> {
    const infos = infosOf(this.ctx.getWebSockets());
    const queries = this.tokenQueries(infos);
    const rows = queries.length ? await this.env.DB.batch<{ id: string }>(queries) : [];
    const kept = this.closeInvalid(infos, new Set(rows.flatMap((r) => r.results.map((t) => t.id))));
    await this.scheduleNextExpiry(kept.map((ws) => infos.get(ws)!));
    return kept;
  }

  /** The queries that list which of the sockets' tokens are not revoked (chunks under the bound-parameter limit). */
  private tokenQueries(infos: Map<WebSocket, SocketInfo>): D1PreparedStatement[] {
    const ids = [...new Set([...infos.values()].map((i) => i.tokenId).filter((id): id is string => id !== null))];
    const queries: D1PreparedStatement[] = [];
    for (let i = 0; i < ids.length; i += IDS_PER_QUERY) {
      const chunk = ids.slice(i, i + IDS_PER_QUERY);
      queries.push(this.env.DB.prepare(`SELECT id FROM tokens WHERE revoked_at IS NULL AND id IN (${chunk.map(() => '?').join(',')})`).bind(...chunk));
    }
    return queries;
  }

  /** Closes the sockets whose token expired or is not among `valid`; answers the others. */
  private closeInvalid(infos: Map<WebSocket, SocketInfo>, valid: Set<string>): WebSocket[] {
    const now = Date.now();
    const kept: WebSocket[] = [];
    for (const [ws, info] of infos) {
      const expired = info.expiresAt !== null && info.expiresAt <= now;
      if (expired || (info.tokenId !== null && !valid.has(info.tokenId))) {
        close(ws, LIVE_CLOSE.tokenInvalid, expired ? 'token-expired' : 'unauthenticated');
      } else kept.push(ws);
    }
    return kept;
  }

  /** Sets the alarm for the earliest expiry among the sockets kept, if it is sooner than the one set. */
  private async scheduleNextExpiry(infos: SocketInfo[]): Promise<void> {
    const next = Math.min(...infos.map((i) => i.expiresAt ?? Infinity));
    if (Number.isFinite(next)) await this.wakeBy(next);
  }

  private async wakeBy(at: number): Promise<void> {
    const set = await this.ctx.storage.getAlarm();
    if (set === null || set > at) await this.ctx.storage.setAlarm(at);
  }

  /** A token's expiry came: its sockets go. */
  override async alarm(): Promise<void> {
    await this.dropInvalid();
  }

  /** Clients send only keep-alive pings (answered without waking this object); anything else ends the socket. */
  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    if (message === LIVE_PING) {
      ws.send(LIVE_PONG);
      return;
    }
    close(ws, LIVE_CLOSE.unexpectedMessage, 'a live socket takes only pings');
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    // 1005/1006 are reserved and may not be sent back.
    close(ws, code === 1005 || code === 1006 ? 1000 : code, reason);
  }

  override async webSocketError(ws: WebSocket): Promise<void> {
    close(ws, 1011, 'socket error');
  }
}

/** Each socket with what it keeps across hibernation. */
const infosOf = (sockets: WebSocket[]) => new Map(sockets.map((ws) => [ws, ws.deserializeAttachment() as SocketInfo]));

function close(ws: WebSocket, code: number, reason: string): void {
  try {
    ws.close(code, reason);
  } catch {
    // Already closed.
  }
}

const tooMany = (message: string) => new HangarError(ErrorCode.RateLimited, message, { retryAfterMs: 60_000 });

/** An error answer from the object, in the API's envelope (the upgrade is refused, nothing held). */
function refuse(err: HangarError): Response {
  const headers: Record<string, string> = { 'content-type': 'application/json', 'X-Hangar-Error': err.code };
  if (err.code === ErrorCode.RateLimited) headers['Retry-After'] = '60';
  return new Response(JSON.stringify(err.toJSON()), { status: STATUS_BY_CODE[err.code], headers });
}

/** The namespace's hub. */
export function liveHub(env: Env, namespace: string): DurableObjectStub<LiveHub> {
  return env.LIVE.get(env.LIVE.idFromName(namespace));
}

/** The header the Worker hands the hub an authenticated caller in. */
export function liveHeader(namespace: string, caller: Caller): string {
  return JSON.stringify({ namespace, tokenId: caller.tokenId, expiresAt: caller.expiresAt } satisfies SocketInfo);
}
