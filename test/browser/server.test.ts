import { afterAll, beforeAll, expect, it } from 'vitest';
import { startServer, type HangarServer } from './server.ts';

let server: HangarServer;
beforeAll(async () => {
  server = await startServer();
}, 120_000);
afterAll(() => server?.close());

it('keeps its data across stop and start on the same port', { timeout: 120_000 }, async () => {
  const created = await server.api('/namespaces/team/models', { json: { name: 'churn' } });
  expect(created.status).toBe(201);
  await server.stop();
  await expect(fetch(`${server.url}/api/v1/health`)).rejects.toThrow();
  await server.start();
  const res = await server.api('/namespaces/team/models/churn');
  expect(res.status).toBe(200);
  expect(((await res.json()) as { name: string }).name).toBe('churn');
});

it('makes tokens whose role and namespace the server enforces', async () => {
  const read = await server.token('team', 'read', { origins: ['http://example.test'] });
  expect((await server.api('/namespaces/team/models', { token: read })).status).toBe(200);
  expect((await server.api('/namespaces/team/models', { token: read, json: { name: 'x' } })).status).toBe(403);
  const refused = await server.api('/namespaces/team/models', { token: read, headers: { origin: 'http://other.test' } });
  expect(refused.status).toBe(403);
  expect(refused.headers.get('access-control-allow-origin')).toBeNull();
});
