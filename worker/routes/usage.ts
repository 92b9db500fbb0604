import { Hono } from 'hono';
import { setQuotasSchema } from '../../shared/usage.ts';
import { requireRole } from '../auth.ts';
import { readUsage, setQuotas } from '../db/usage.ts';
import type { AppEnv } from '../env.ts';
import { readBody } from '../http.ts';
import type { RouteDoc } from '../openapi.ts';

/** `/namespaces/{ns}/usage`: what the namespace uses, and its quotas (DESIGN §3b). */
export const usage = new Hono<AppEnv>();

usage.get('/', async function usageRoute(c) {
  return c.json(await readUsage(c.env.DB, c.req.param('ns')!));
});

usage.put('/', async function setQuotasRoute(c) {
  requireRole(c.get('caller'), 'admin');
  const body = await readBody(c, setQuotasSchema);
  return c.json(await setQuotas(c.env.DB, c.req.param('ns')!, body));
});

export const usageDocs: RouteDoc[] = [
  { method: 'get', path: '/namespaces/{ns}/usage', summary: 'What the namespace uses (blobBytes, metricPoints, models) and its quotas (null: none)', role: 'read' },
  {
    method: 'put',
    path: '/namespaces/{ns}/usage',
    summary: 'Set quotas: a field left out keeps its quota, null removes it; a quota below current use is refused',
    body: setQuotasSchema,
    role: 'admin',
  },
];
