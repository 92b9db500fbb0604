import { Hono } from 'hono';
import { listQuerySchema } from '../../shared/pages.ts';
import { createVersionSchema, updateVersionSchema } from '../../shared/versions.ts';
import { serverHlc } from '../clock.ts';
import { getModelRow } from '../db/models.ts';
import { getVersionRow, listVersions, toVersion } from '../db/versions.ts';
import { createVersion, deleteVersion, updateVersion } from '../domain/versions.ts';
import { deletedModelOf, restoreVersion } from '../domain/trash.ts';
import type { AppEnv } from '../env.ts';
import { readBody, readQuery } from '../http.ts';
import type { RouteDoc } from '../openapi.ts';

/** `/namespaces/{ns}/models/{model}/versions` */
export const versions = new Hono<AppEnv>();

versions.post('/', async function createVersionRoute(c) {
  const model = await getModelRow(c.env.DB, c.req.param('ns')!, c.req.param('model')!);
  const input = await readBody(c, createVersionSchema);
  const row = await createVersion(c.env.DB, model, input, { hlc: serverHlc(), tokenId: c.get('caller').tokenId });
  return c.json(await toVersion(c.env.DB, model, row), 201);
});

versions.get('/', async function listVersionsRoute(c) {
  const model = await getModelRow(c.env.DB, c.req.param('ns')!, c.req.param('model')!);
  return c.json(await listVersions(c.env.DB, model, readQuery(c, listQuerySchema)));
});

versions.get('/:number', async function getVersionRoute(c) {
  const model = await getModelRow(c.env.DB, c.req.param('ns')!, c.req.param('model')!);
  return c.json(await toVersion(c.env.DB, model, await getVersionRow(c.env.DB, model, c.req.param('number'))));
});

versions.patch('/:number', async function updateVersionRoute(c) {
  const model = await getModelRow(c.env.DB, c.req.param('ns')!, c.req.param('model')!);
  const row = await getVersionRow(c.env.DB, model, c.req.param('number'));
  await updateVersion(c.env.DB, model, row, await readBody(c, updateVersionSchema), serverHlc());
  return c.json(await toVersion(c.env.DB, model, await getVersionRow(c.env.DB, model, row.number)));
});

versions.delete('/:number', async function deleteVersionRoute(c) {
  const model = await getModelRow(c.env.DB, c.req.param('ns')!, c.req.param('model')!);
  const row = await getVersionRow(c.env.DB, model, c.req.param('number'));
  await deleteVersion(c.env.DB, model, row, { hlc: serverHlc(), tokenId: c.get('caller').tokenId });
  return c.body(null, 204);
});

versions.post('/:number/restore', async function restoreVersionRoute(c) {
  const ns = c.req.param('ns')!;
  const name = c.req.param('model')!;
  // A version of a deleted model comes back with its model, not alone.
  const gone = await deletedModelOf(c.env.DB, ns, name);
  if (gone) throw gone;
  const model = await getModelRow(c.env.DB, ns, name);
  await restoreVersion(c.env.DB, model, c.req.param('number'), serverHlc());
  return c.json(await toVersion(c.env.DB, model, await getVersionRow(c.env.DB, model, c.req.param('number'))));
});

const base = '/namespaces/{ns}/models/{model}/versions';
export const versionDocs: RouteDoc[] = [
  { method: 'post', path: base, summary: 'Create a version (the server assigns its number)', body: createVersionSchema, role: 'write' },
  { method: 'get', path: base, summary: 'List versions (filter, orderBy, pages)', query: listQuerySchema, role: 'read' },
  { method: 'get', path: `${base}/{number}`, summary: 'Read a version', role: 'read' },
  { method: 'patch', path: `${base}/{number}`, summary: 'Update a version', body: updateVersionSchema, role: 'write' },
  { method: 'delete', path: `${base}/{number}`, summary: 'Delete a version (to the trash)', role: 'write' },
  { method: 'post', path: `${base}/{number}/restore`, summary: 'Restore a version from the trash (its model must be alive)', role: 'write' },
];
