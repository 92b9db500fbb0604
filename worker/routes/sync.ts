import { Hono, type Context } from 'hono';
import { ErrorCode, HangarError } from '../../shared/errors.ts';
import { MIN_PROTOCOL_VERSION, PROTOCOL_HEADER, PROTOCOL_VERSION, PULL_CLIENT_HEADER, PULL_CURSOR_HEADER, pullQuerySchema, pushRequestSchema } from '../../shared/sync.ts';
import { parseWith } from '../../shared/validate.ts';
import { pull } from '../domain/sync/pull.ts';
import { push } from '../domain/sync/push.ts';
import { snapshotPage } from '../domain/sync/snapshot.ts';
import { snapshotQuerySchema } from '../../shared/snapshot.ts';
import { LIMITS } from '../../shared/limits.ts';
import type { AppEnv } from '../env.ts';
import { liveHeader, liveHub } from '../live.ts';
import { readBody, readQuery } from '../http.ts';
import type { RouteDoc } from '../openapi.ts';

/** `/namespaces/{ns}/sync`: the sync protocol of DESIGN §6. */
export const sync = new Hono<AppEnv>();

/** Refuses a client whose protocol this server cannot speak, before anything else. */
function checkProtocol(c: Context<AppEnv>): void {
  const sent = c.req.header(PROTOCOL_HEADER);
  const version = sent !== undefined && /^\d{1,6}$/.test(sent) ? Number(sent) : NaN;
  if (!(version >= MIN_PROTOCOL_VERSION && version <= PROTOCOL_VERSION)) {
    throw new HangarError(
      ErrorCode.ProtocolUnsupported,
      sent === undefined
        ? `Sync requests carry the header "${PROTOCOL_HEADER}"; this server speaks versions ${MIN_PROTOCOL_VERSION}–${PROTOCOL_VERSION}.`
        : `This server speaks sync protocol ${MIN_PROTOCOL_VERSION}–${PROTOCOL_VERSION}, not ${sent}: update the app.`,
      { sent: sent ?? null, supported: { min: MIN_PROTOCOL_VERSION, max: PROTOCOL_VERSION } },
    );
  }
}

sync.post('/push', async function pushRoute(c) {
  checkProtocol(c);
  const body = await readBody(c, pushRequestSchema);
  return c.json(await push(c.env.DB, c.get('caller'), c.req.param('ns')!, body));
});

sync.get('/pull', async function pullRoute(c) {
  checkProtocol(c);
  return c.json(await pull(c.env.DB, c.req.param('ns')!, pullQuery(c)));
});

/**
 * A pull's parameters: from the query, or, when the query has no `clientId`, `clientId` and
 * `cursor` from headers (a browser's pull then keeps one URL, and one cached CORS preflight).
 */
function pullQuery(c: Context<AppEnv>) {
  const query = c.req.query();
  const client = c.req.header(PULL_CLIENT_HEADER);
  if (query.clientId !== undefined || client === undefined) return readQuery(c, pullQuerySchema);
  const cursor = c.req.header(PULL_CURSOR_HEADER);
  return parseWith(pullQuerySchema, { ...query, clientId: client, ...(cursor !== undefined ? { cursor } : {}) }, 'pull headers');
}

/** A new device's (or a far-behind one's) start: the namespace's current state, in pages (DESIGN §6 "Bootstrap"). */
sync.get('/snapshot', async function snapshotRoute(c) {
  checkProtocol(c);
  const query = readQuery(c, snapshotQuerySchema);
  return c.json(await snapshotPage(c.env.DB, c.req.param('ns')!, query.pageToken));
});

/**
 * The live socket (DESIGN §6 "Live"): authenticated like every route (the token may come as the
 * `hangar.bearer.<token>` subprotocol, see shared/live.ts), then handed to the namespace's hub.
 */
sync.get('/live', async function liveRoute(c) {
  if (c.req.header('upgrade')?.toLowerCase() !== 'websocket') {
    throw new HangarError(ErrorCode.InvalidArgument, 'This route is a WebSocket: connect with "Upgrade: websocket".');
  }
  const ns = c.req.param('ns')!;
  const headers = new Headers(c.req.raw.headers);
  headers.set('x-hangar-live', liveHeader(ns, c.get('caller')));
  return liveHub(c.env, ns).fetch(new Request(c.req.raw.url, { headers }));
});

const base = '/namespaces/{ns}/sync';
export const syncDocs: RouteDoc[] = [
  { method: 'post', path: `${base}/push`, summary: 'Apply outbox mutations once each, in order; an answer per mutation', body: pushRequestSchema, role: 'write' },
  { method: 'get', path: `${base}/live`, summary: 'WebSocket: pokes {type:"poke",cursor} when the change log moves (token as the hangar.bearer.<token> subprotocol)', role: 'read' },
  { method: 'get', path: `${base}/pull`, summary: "The namespace's change log after a cursor, in pages (clientId and cursor also as the hangar-client-id and hangar-cursor headers)", query: pullQuerySchema, role: 'read' },
  {
    method: 'get',
    path: `${base}/snapshot`,
    summary: `The namespace's current state without metric history (metric summaries instead), with the change-log cursor each page is consistent with; pages of up to ${LIMITS.snapshotPageRows} rows, metric summaries on pages of their own`,
    query: snapshotQuerySchema,
    role: 'read',
  },
];
