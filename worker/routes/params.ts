import { Hono } from 'hono';
import { paramKeySchema, setParamSchema } from '../../shared/params.ts';
import { serverHlc } from '../clock.ts';
import { paramsOf } from '../db/params.ts';
import { setParams } from '../domain/params.ts';
import type { AppEnv } from '../env.ts';
import { parseWith, readBody } from '../http.ts';
import type { RouteDoc } from '../openapi.ts';
import { resolveParent } from '../parent.ts';

/** `…/models/{model}/versions/{number}/params`: a version's params, each set once (shared/params.ts). */
export const params = new Hono<AppEnv>();

params.get('/', async function listParamsRoute(c) {
  const parent = await resolveParent(c);
  return c.json({ params: (await paramsOf(c.env.DB, [parent.id])).get(parent.id) ?? {} });
});

// Keys may hold "/", sent as is or as %2F; Hono percent-decodes the param.
params.put('/:key{.+}', async function setParamRoute(c) {
  const key = parseWith(paramKeySchema, c.req.param('key'), 'param key');
  // Too large is 413 (parseWith tells it apart).
  const { value } = await readBody(c, setParamSchema);
  const parent = await resolveParent(c);
  await setParams(c.env.DB, parent, [{ key, value }], serverHlc());
  return c.json({ key, value });
});

const base = '/namespaces/{ns}/models/{model}/versions/{number}/params';
export const paramDocs: RouteDoc[] = [
  { method: 'get', path: base, summary: "A version's params (key → string value)", role: 'read' },
  {
    method: 'put',
    path: `${base}/{key}`,
    summary: 'Set a param once: the same value again is harmless, another value is 409 param-changed',
    body: setParamSchema,
    role: 'write',
  },
];
