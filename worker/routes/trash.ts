import { Hono } from 'hono';
import { trashQuerySchema } from '../../shared/trash.ts';
import { requireRole } from '../auth.ts';
import { listTrash } from '../db/trash.ts';
import { markForPurge, markTrashForPurge, purgeMarked } from '../domain/purge.ts';
import { notInTrash } from '../domain/trash.ts';
import type { AppEnv } from '../env.ts';
import { readQuery } from '../http.ts';
import type { RouteDoc } from '../openapi.ts';

/** `/namespaces/{ns}/trash`: deleted models and versions, restorable until purged (DESIGN §3b). */
export const trash = new Hono<AppEnv>();

/**
 * D1 queries a purge request spends freeing rows before it answers; what is left (a model with
 * a long history) is freed by the scheduled handler's next runs. Well inside one invocation's limit.
 */
const PURGE_QUERIES_PER_REQUEST = 200;

trash.get('/', async function listTrashRoute(c) {
  return c.json(await listTrash(c.env.DB, c.req.param('ns')!, readQuery(c, trashQuerySchema)));
});

trash.delete('/:id', async function purgeEntryRoute(c) {
  requireRole(c.get('caller'), 'admin');
  const ns = c.req.param('ns')!;
  const id = c.req.param('id');
  if (!(await markForPurge(c.env.DB, ns, id))) throw notInTrash(`"${id}"`, { id });
  const report = await purgeMarked(c.env.DB, { namespace: ns, queries: PURGE_QUERIES_PER_REQUEST });
  return c.json({ purged: 1, done: report.done });
});

trash.delete('/', async function emptyTrashRoute(c) {
  requireRole(c.get('caller'), 'admin');
  const ns = c.req.param('ns')!;
  const purged = await markTrashForPurge(c.env.DB, ns);
  const report = await purgeMarked(c.env.DB, { namespace: ns, queries: PURGE_QUERIES_PER_REQUEST });
  return c.json({ purged, done: report.done });
});

const base = '/namespaces/{ns}/trash';
export const trashDocs: RouteDoc[] = [
  { method: 'get', path: base, summary: 'Deleted models and versions, newest first: who deleted each, when it expires (pages)', query: trashQuerySchema, role: 'read' },
  { method: 'delete', path: base, summary: 'Empty the trash: purge every entry (rows freed now or by the next scheduled runs; done says which)', role: 'admin' },
  { method: 'delete', path: `${base}/{id}`, summary: 'Purge one entry for good (a model takes its versions)', role: 'admin' },
];
