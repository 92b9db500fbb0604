import { Hono } from 'hono';
import { createModelSchema, updateModelSchema } from '../../shared/models.ts';
import { listQuerySchema } from '../../shared/pages.ts';
import { serverHlc } from '../clock.ts';
import { getModelRow, listModels, toModels } from '../db/models.ts';
import { createModel, deleteModel, updateModel } from '../domain/models.ts';
import { restoreModel } from '../domain/trash.ts';
import type { AppEnv } from '../env.ts';
import { readBody, readQuery } from '../http.ts';
import type { RouteDoc } from '../openapi.ts';

/** `/namespaces/{ns}/models` */
export const models = new Hono<AppEnv>();

async function modelResponse(db: D1Database, namespace: string, name: string) {
  const [model] = await toModels(db, [await getModelRow(db, namespace, name)]);
  return model!;
}

models.post('/', async function createModelRoute(c) {
  const ns = c.req.param('ns')!;
  const input = await readBody(c, createModelSchema);
  await createModel(c.env.DB, ns, input, serverHlc());
  return c.json(await modelResponse(c.env.DB, ns, input.name), 201);
});

models.get('/', async function listModelsRoute(c) {
  return c.json(await listModels(c.env.DB, c.req.param('ns')!, readQuery(c, listQuerySchema)));
});

models.get('/:model', async function getModelRoute(c) {
  return c.json(await modelResponse(c.env.DB, c.req.param('ns')!, c.req.param('model')));
});

models.patch('/:model', async function updateModelRoute(c) {
  const ns = c.req.param('ns')!;
  const row = await getModelRow(c.env.DB, ns, c.req.param('model'));
  await updateModel(c.env.DB, row, await readBody(c, updateModelSchema), serverHlc());
  return c.json(await modelResponse(c.env.DB, ns, row.name));
});

models.delete('/:model', async function deleteModelRoute(c) {
  const row = await getModelRow(c.env.DB, c.req.param('ns')!, c.req.param('model'));
  await deleteModel(c.env.DB, row, serverHlc());
  return c.body(null, 204);
});

models.post('/:model/restore', async function restoreModelRoute(c) {
  const ns = c.req.param('ns')!;
  await restoreModel(c.env.DB, ns, c.req.param('model'), serverHlc());
  return c.json(await modelResponse(c.env.DB, ns, c.req.param('model')));
});

const base = '/namespaces/{ns}/models';
export const modelDocs: RouteDoc[] = [
  { method: 'post', path: base, summary: 'Create a model', body: createModelSchema, role: 'write' },
  { method: 'get', path: base, summary: 'List models (filter, orderBy, pages)', query: listQuerySchema, role: 'read' },
  { method: 'get', path: `${base}/{model}`, summary: 'Read a model', role: 'read' },
  { method: 'patch', path: `${base}/{model}`, summary: 'Update a model', body: updateModelSchema, role: 'write' },
  { method: 'delete', path: `${base}/{model}`, summary: 'Delete a model and its versions (to the trash)', role: 'write' },
  { method: 'post', path: `${base}/{model}/restore`, summary: 'Restore a model from the trash, with the versions its delete took', role: 'write' },
];
