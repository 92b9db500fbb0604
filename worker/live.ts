import { DurableObject } from 'cloudflare:workers';
import { ErrorCode, HangarError } from '../shared/errors.ts';
import { LIMITS } from '../shared/limits.ts';
import { utf8Length } from '../shared/encoding.ts';
import { LIVE_CLOSE, LIVE_PING, LIVE_PONG, LIVE_SUBPROTOCOL, type Poke } from '../shared/live.ts';
import { changesOf, materializePoints, type ChangeRow } from './domain/sync/pull.ts';
import type { Caller } from './env.ts';
import { STATUS_BY_CODE } from './errors.ts';

/** What each socket keeps across hibernation (`serializeAttachment`), and its token's entry in storage. */
interface SocketInfo {
  namespace: string;
  /** The token's id; null for the admin token from `HANGAR_ADMIN_TOKEN`. */
  tokenId: string | null;
  expiresAt: number | null;
}

/** The tag a socket is filed under (to count and reach one token's sockets), and its token's key in storage. */
const TOKEN_PREFIX = 'token:';
const tagOf = (tokenId: string | null) => `${TOKEN_PREFIX}${tokenId ?? 'admin'}`;
/** Storage keys: the cursor last poked, and that the sockets' tokens are filed under their tags. */
const POKED = 'poked';
const FILED = 'tokens-filed';

/**
 * The most change-log rows a poke carries (it also stays within `LIMITS.livePokeBytes`): a write
 * appends a handful; a burst folded into one poke may append more, and its clients then pull.
 */
const POKE_ROWS = 32;

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
  /**
   * The cursor last poked (every row after it is still to announce), kept in this object's
   * storage so a poke after hibernation still carries only the new rows; -1 before any poke.
   */
  private get poked(): number {
    return this.ctx.storage.kv.get<number>(POKED) ?? -1;
  }

  private set poked(cursor: number) {
    this.ctx.storage.kv.put(POKED, cursor);
  }
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
    // The token is filed with its sockets' tag, so a poke finds every socket's token without waking the sockets' attachments.
    this.tokens();
    this.ctx.storage.kv.put(tagOf(info.tokenId), info);
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
    const tokens = this.tokens();
    if (tokens.length === 0) return;
    // The newest rows and the tokens' validity in one D1 batch: one round trip before the pokes go.
    const rowsQuery = this.env.DB.prepare(
      // A row too large for any poke comes without its data (the poke then carries no rows).
      `SELECT seq, entity, entity_id, op, CASE WHEN length(data) <= ?3 THEN data END AS data, hlc
         FROM change_log WHERE namespace = ?1 AND seq > ?2 ORDER BY seq DESC LIMIT ?4`,
    ).bind(namespace, this.poked, LIMITS.livePokeBytes, POKE_ROWS + 1);
    const lastQuery = this.env.DB.prepare('SELECT max(seq) AS seq FROM change_log WHERE namespace = ?').bind(namespace);
    const [newest, last, ...tokenRows] = await this.env.DB.batch<Record<string, unknown>>([rowsQuery, lastQuery, ...this.tokenQueries(tokens)]);
    const kept = this.closeInvalid(tokens, new Set(tokenRows.flatMap((r) => r.results.map((t) => t.id as string))));
    const rows = ((newest?.results ?? []) as unknown as ChangeRow[]).reverse();
    const lastSeq = (last?.results[0]?.seq as number | null | undefined) ?? 0;
    // The log is behind the cursor poked (a database restored from an older state): start over from its end.
    if (lastSeq < this.poked) this.poked = -1;
    const cursor = rows.at(-1)?.seq ?? lastSeq;
    if (cursor > this.poked) {
      const message = await this.pokeMessage(cursor, rows);
      for (const token of kept) {
        for (const ws of this.ctx.getWebSockets(tagOf(token.tokenId))) {
          try {
            ws.send(message);
          } catch {
            // Closing already: the client pulls when it reconnects.
          }
        }
      }
      // Stored after the sends (nothing awaited between): a storage write holds back messages sent after it.
      this.poked = cursor;
    }
    // After the pokes: the alarm for the earliest expiry among the tokens kept.
    await this.scheduleNextExpiry(kept);
  }

  /**
   * The tokens holding sockets here, from this object's storage (`token:<id>` → SocketInfo);
   * a token whose sockets are all gone is forgotten. Sockets accepted before tokens were filed
   * here are filed once, from their attachments.
   */
  private tokens(): SocketInfo[] {
    const kv = this.ctx.storage.kv;
    if (kv.get(FILED) !== true) {
      for (const ws of this.ctx.getWebSockets()) {
        const info = ws.deserializeAttachment() as SocketInfo | null;
        if (info) kv.put(tagOf(info.tokenId), info);
      }
      kv.put(FILED, true);
    }
    const tokens: SocketInfo[] = [];
    for (const [key, info] of kv.list<SocketInfo>({ prefix: TOKEN_PREFIX })) {
      if (this.ctx.getWebSockets(key).length === 0) kv.delete(key);
      else tokens.push(info);
    }
    return tokens;
  }

  /**
   * The poke for `cursor`, with the rows it announces when they fit (shared/live.ts `Poke`):
   * `rows` are the namespace's newest rows after the cursor last poked, in order. When this
   * object knows that cursor (kept in its storage) and holds every row after it, the poke
   * carries them from there; before its first poke, it carries the rows after the oldest it
   * read, which serves every client whose cursor is at least that. Rows too large, or too many,
   * go unsaid: a plain poke, and clients pull.
   */
  private async pokeMessage(cursor: number, rows: ChangeRow[]): Promise<string> {
    const plain = JSON.stringify({ type: 'poke', cursor } satisfies Poke);
    let from: number;
    if (this.poked >= 0 && rows.length <= POKE_ROWS) from = this.poked;
    else if (this.poked < 0 && rows.length >= 2) from = rows.shift()!.seq;
    else return plain;
    if (rows.length === 0 || rows.some((r) => r.data === null)) return plain;
    const changes = changesOf(rows, LIMITS.livePokeBytes);
    if (changes.length < rows.length) return plain;
    try {
      await materializePoints(this.env.DB, changes);
    } catch (err) {
      console.error('live poke: reading metric points failed; poking without rows', err);
      return plain;
    }
    const message = JSON.stringify({ type: 'poke', cursor, from, changes } satisfies Poke);
    return utf8Length(message) <= LIMITS.livePokeBytes ? message : plain;
  }

  /** Closes the sockets whose token expired or was revoked. */
  private async dropInvalid(): Promise<void> {
    const tokens = this.tokens();
    const queries = this.tokenQueries(tokens);
    const rows = queries.length ? await this.env.DB.batch<{ id: string }>(queries) : [];
    const kept = this.closeInvalid(tokens, new Set(rows.flatMap((r) => r.results.map((t) => t.id))));
    await this.scheduleNextExpiry(kept);
  }

  /** The queries that list which of the tokens are not revoked (chunks under the bound-parameter limit). */
  private tokenQueries(tokens: SocketInfo[]): D1PreparedStatement[] {
    const ids = [...new Set(tokens.map((i) => i.tokenId).filter((id): id is string => id !== null))];
    const queries: D1PreparedStatement[] = [];
    for (let i = 0; i < ids.length; i += IDS_PER_QUERY) {
      const chunk = ids.slice(i, i + IDS_PER_QUERY);
      queries.push(this.env.DB.prepare(`SELECT id FROM tokens WHERE revoked_at IS NULL AND id IN (${chunk.map(() => '?').join(',')})`).bind(...chunk));
    }
    return queries;
  }

  /** Closes the sockets of the tokens that expired or are not among `valid` (and forgets those tokens); answers the others. */
  private closeInvalid(tokens: SocketInfo[], valid: Set<string>): SocketInfo[] {
    const now = Date.now();
    const kept: SocketInfo[] = [];
    for (const info of tokens) {
      const expired = info.expiresAt !== null && info.expiresAt <= now;
      if (expired || (info.tokenId !== null && !valid.has(info.tokenId))) {
        this.ctx.storage.kv.delete(tagOf(info.tokenId));
        for (const ws of this.ctx.getWebSockets(tagOf(info.tokenId))) close(ws, LIVE_CLOSE.tokenInvalid, expired ? 'token-expired' : 'unauthenticated');
      } else kept.push(info);
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
