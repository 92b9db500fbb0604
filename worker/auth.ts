import type { Context, MiddlewareHandler } from 'hono';
import { ErrorCode, HangarError } from '../shared/errors.ts';
import { toHex } from '../shared/ids.ts';
import { NAMESPACE_PATTERN } from '../shared/names.ts';
import { roleRank, type Role } from '../shared/tokens.ts';
import { ADMIN_TOKEN_NAME, runAs } from './actor.ts';
import { checkRateLimit } from './rate-limit.ts';
import { tokenFromSubprotocols } from '../shared/live.ts';
import { findTokenByDigest } from './db/tokens.ts';
import type { AppEnv, Caller } from './env.ts';

const encoder = new TextEncoder();

async function digest(text: string): Promise<ArrayBuffer> {
  return crypto.subtle.digest('SHA-256', encoder.encode(text));
}

/** SHA-256 of a token, as stored in D1. */
export async function tokenDigest(token: string): Promise<string> {
  return toHex(await digest(token));
}

/** Compares two digests in constant time (equal lengths by construction). */
function sameDigest(a: ArrayBuffer, b: ArrayBuffer): boolean {
  return a.byteLength === b.byteLength && crypto.subtle.timingSafeEqual(a, b);
}

const unauthenticated = (message: string) => new HangarError(ErrorCode.Unauthenticated, message);

/**
 * The request's token: `Authorization: Bearer …`, or, on a WebSocket upgrade (which a browser
 * cannot give headers), the `hangar.bearer.<token>` subprotocol (shared/live.ts).
 */
function presentedToken(c: Context<AppEnv>): string | undefined {
  const header = c.req.header('authorization');
  const match = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  if (match) return match[1]!;
  if (header === undefined && c.req.header('upgrade')?.toLowerCase() === 'websocket') return tokenFromSubprotocols(c.req.header('sec-websocket-protocol'));
  return undefined;
}

/**
 * The token of a request from an MLflow client: `Authorization: Bearer <token>`
 * (`MLFLOW_TRACKING_TOKEN`), or Basic auth with the token as the password
 * (`MLFLOW_TRACKING_USERNAME` anything, `MLFLOW_TRACKING_PASSWORD` the token).
 */
export function bearerOrBasicToken(c: Context<AppEnv>): string | undefined {
  const header = c.req.header('authorization');
  const basic = header ? /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header) : null;
  if (!basic) return presentedToken(c);
  let decoded: string;
  try {
    decoded = atob(basic[1]!);
  } catch {
    return undefined;
  }
  const colon = decoded.indexOf(':');
  return colon >= 0 && colon < decoded.length - 1 ? decoded.slice(colon + 1) : undefined;
}

/** Resolves the request's token to a caller, or throws 401. */
async function resolveCaller(c: Context<AppEnv>, present: (c: Context<AppEnv>) => string | undefined = presentedToken): Promise<Caller> {
  const token = present(c);
  if (!token) throw unauthenticated('Send a token as "Authorization: Bearer <token>".');
  const given = await digest(token);

  const admin = c.env.HANGAR_ADMIN_TOKEN;
  if (admin && sameDigest(given, await digest(admin))) {
    return { tokenId: null, tokenName: ADMIN_TOKEN_NAME, namespace: '*', role: 'admin', origins: null, expiresAt: null };
  }
  const row = await findTokenByDigest(c.env.DB, toHex(given));
  // The lookup is by digest; compare again in constant time so timing never tells how close a guess was.
  if (!row || row.revokedAt !== null || !sameDigest(given, hexToBuffer(row.digest))) {
    throw unauthenticated('The token is not valid; ask an admin for a new one.');
  }
  if (row.expiresAt !== null && row.expiresAt <= Date.now()) {
    throw new HangarError(ErrorCode.TokenExpired, 'The token has expired; ask an admin for a new one.');
  }
  return { tokenId: row.id, tokenName: row.name, namespace: row.namespace, role: row.role, origins: row.origins, expiresAt: row.expiresAt };
}

function hexToBuffer(h: string): ArrayBuffer {
  const out = new Uint8Array(h.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(h.slice(i * 2, i * 2 + 2), 16);
  return out.buffer;
}

/**
 * Authenticates every API request and enforces the token's allowed origins: a request from a
 * browser origin the token does not name is refused, so a widget token works only from the
 * sites it lists.
 */
export const authenticate: MiddlewareHandler<AppEnv> = (c, next) => authenticateWith(c, next, presentedToken);

/** `authenticate` for MLflow's routes: Bearer or Basic auth (`bearerOrBasicToken`). */
export const authenticateMlflow: MiddlewareHandler<AppEnv> = (c, next) => authenticateWith(c, next, bearerOrBasicToken);

async function authenticateWith(c: Context<AppEnv>, next: () => Promise<void>, present: (c: Context<AppEnv>) => string | undefined) {
  // A request without a valid token counts against its address, so guessing tokens is limited too.
  const caller = await resolveCaller(c, present).catch(async (err: unknown) => {
    await checkRateLimit(c, 'address');
    throw err;
  });
  await checkRateLimit(c, caller);
  const origin = c.req.header('origin');
  if (origin && caller.origins && !caller.origins.includes(origin)) {
    throw new HangarError(ErrorCode.OriginNotAllowed, `This token may not be used from ${origin}.`, { origin });
  }
  c.set('caller', caller);
  await runAs({ id: caller.tokenId, name: caller.tokenName }, next);
}

/** Throws 403 unless the caller's role is at least `role`. */
export function requireRole(caller: Caller, role: Role): void {
  if (roleRank[caller.role] < roleRank[role]) {
    throw new HangarError(ErrorCode.PermissionDenied, `This needs a ${role} token; yours is ${caller.role}.`, {
      required: role,
      role: caller.role,
    });
  }
}

/** Whether the caller's token reaches this namespace. */
export const canSee = (caller: Caller, namespace: string) => caller.namespace === '*' || caller.namespace === namespace;

/**
 * Guards `/namespaces/{ns}/…`: a namespace the token may not see answers 404, exactly as one
 * that does not exist; reads need `read`, everything else `write`.
 */
export const namespaceAccess: MiddlewareHandler<AppEnv> = async function namespaceAccess(c, next) {
  const ns = c.req.param('ns') ?? '';
  const caller = c.get('caller');
  if (!NAMESPACE_PATTERN.test(ns) || !canSee(caller, ns)) {
    throw new HangarError(ErrorCode.NamespaceNotFound, `No namespace "${ns}" that this token can see.`, { namespace: ns });
  }
  requireRole(caller, c.req.method === 'GET' || c.req.method === 'HEAD' ? 'read' : 'write');
  await next();
};
