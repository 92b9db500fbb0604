import { Hono } from 'hono';
import { z } from 'zod';
import { ErrorCode, HangarError } from '../../shared/errors.ts';
import { namespaceSchema } from '../../shared/names.ts';
import { createTokenSchema } from '../../shared/tokens.ts';
import { canSee, requireRole } from '../auth.ts';
import { findToken, listTokens, tokenInfo } from '../db/tokens.ts';
import { createToken, deleteToken } from '../domain/tokens.ts';
import type { AppEnv, Caller } from '../env.ts';
import { readBody, readQuery } from '../http.ts';
import { afterResponse } from '../live-notify.ts';
import { liveHub } from '../live.ts';
import type { RouteDoc } from '../openapi.ts';

export const tokens = new Hono<AppEnv>();

/** An admin of one namespace manages that namespace's tokens; only a `*` admin manages `*` tokens. */
function requireAdminOf(caller: Caller, namespace: string): void {
  requireRole(caller, 'admin');
  if (namespace === '*' ? caller.namespace !== '*' : !canSee(caller, namespace)) {
    throw new HangarError(ErrorCode.PermissionDenied, `This token may not manage tokens of namespace "${namespace}".`);
  }
}

tokens.post('/', async function createTokenRoute(c) {
  const input = await readBody(c, createTokenSchema);
  requireAdminOf(c.get('caller'), input.namespace);
  return c.json(await createToken(c.env.DB, input), 201);
});

const listTokensQuery = z.object({ namespace: z.union([namespaceSchema, z.literal('*')]).optional() });

tokens.get('/', async function listTokensRoute(c) {
  const caller = c.get('caller');
  const { namespace } = readQuery(c, listTokensQuery);
  const scope = namespace ?? (caller.namespace === '*' ? undefined : caller.namespace);
  requireAdminOf(caller, scope ?? '*');
  const rows = await listTokens(c.env.DB, scope);
  return c.json({ items: rows.map(tokenInfo) });
});

tokens.delete('/:id', async function deleteTokenRoute(c) {
  const caller = c.get('caller');
  requireRole(caller, 'admin');
  const row = await findToken(c.env.DB, c.req.param('id'));
  if (!row || (row.namespace === '*' ? caller.namespace !== '*' : !canSee(caller, row.namespace))) {
    throw new HangarError(ErrorCode.TokenNotFound, 'No such token.');
  }
  await deleteToken(c.env.DB, row.id);
  // Its live sockets go now; a `*` token's go at their namespace's next poke.
  if (row.namespace !== '*') afterResponse(c, liveHub(c.env, row.namespace).revoked());
  return c.body(null, 204);
});

export const tokenDocs: RouteDoc[] = [
  { method: 'post', path: '/tokens', summary: 'Create a token (shown once)', body: createTokenSchema, role: 'admin' },
  { method: 'get', path: '/tokens', summary: 'List tokens of a namespace', query: listTokensQuery, role: 'admin' },
  { method: 'delete', path: '/tokens/{id}', summary: 'Revoke a token', role: 'admin' },
];
