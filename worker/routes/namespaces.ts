import { Hono } from 'hono';
import type { AppEnv } from '../env.ts';
import type { RouteDoc } from '../openapi.ts';

export const namespaces = new Hono<AppEnv>();

namespaces.get('/', async function listNamespacesRoute(c) {
  const caller = c.get('caller');
  const { results } =
    caller.namespace === '*'
      ? await c.env.DB.prepare('SELECT name FROM namespaces ORDER BY name').all<{ name: string }>()
      : { results: [{ name: caller.namespace }] };
  return c.json({ items: results.map((r) => ({ name: r.name })) });
});

export const namespaceDocs: RouteDoc[] = [{ method: 'get', path: '/namespaces', summary: 'Namespaces this token can see', role: 'read' }];
