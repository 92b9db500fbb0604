import { Hono } from 'hono';
import { metadataValueSchema } from '../../shared/metadata.ts';
import { keySchema } from '../../shared/names.ts';
import { serverHlc } from '../clock.ts';
import { metadataOf } from '../db/metadata.ts';
import { deleteMetadata, setMetadata } from '../domain/metadata.ts';
import type { AppEnv } from '../env.ts';
import { parseWith, readJsonBody } from '../http.ts';
import type { RouteDoc } from '../openapi.ts';
import { resolveParent } from '../parent.ts';

/** `…/models/{model}/metadata` and `…/models/{model}/versions/{number}/metadata` */
export const metadata = new Hono<AppEnv>();


metadata.get('/', async function listMetadataRoute(c) {
  const parent = await resolveParent(c);
  const byParent = await metadataOf(c.env.DB, [parent.id]);
  return c.json({ metadata: byParent.get(parent.id) ?? {} });
});

// Keys may hold "/", sent as is or as %2F; Hono percent-decodes the param.
metadata.put('/:key{.+}', async function setMetadataRoute(c) {
  const key = parseWith(keySchema, c.req.param('key'), 'metadata key');
  // Too deep is 400; too large is 413 (parseWith tells them apart).
  const value = parseWith(metadataValueSchema, await readJsonBody(c), 'metadata value');
  const parent = await resolveParent(c);
  const stored = await setMetadata(c.env.DB, parent, key, value, serverHlc());
  return c.json({ key, value: stored });
});

metadata.delete('/:key{.+}', async function deleteMetadataRoute(c) {
  const key = parseWith(keySchema, c.req.param('key'), 'metadata key');
  const parent = await resolveParent(c);
  await deleteMetadata(c.env.DB, parent, key, serverHlc());
  return c.body(null, 204);
});

const docsFor = (base: string, on: string): RouteDoc[] => [
  { method: 'get', path: `${base}/metadata`, summary: `Every metadata key of a ${on}`, role: 'read' },
  {
    method: 'put',
    path: `${base}/metadata/{key}`,
    summary: `Set one metadata key of a ${on} to any JSON value (last writer wins)`,
    body: metadataValueSchema,
    role: 'write',
  },
  { method: 'delete', path: `${base}/metadata/{key}`, summary: `Delete one metadata key of a ${on}`, role: 'write' },
];

const model = '/namespaces/{ns}/models/{model}';
export const metadataDocs: RouteDoc[] = [...docsFor(model, 'model'), ...docsFor(`${model}/versions/{number}`, 'version')];
