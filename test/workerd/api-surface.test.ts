import { describe, expect, it } from 'vitest';
import { app, routeDocs } from '../../worker/app.ts';
import { call, expectError } from './api.ts';

describe('API surface', () => {
  it('answers /health without a token', async () => {
    const r = await call('GET', '/health', { token: null });
    expect(r.status).toBe(200);
    expect(r.body.status).toBe('ok');
  });

  it('serves an OpenAPI document generated from the request schemas', async () => {
    const r = await call('GET', '/openapi.json', { token: null });
    expect(r.status).toBe(200);
    expect(r.body.openapi).toBe('3.1.0');
    const create = r.body.paths['/namespaces/{ns}/models'].post.requestBody.content['application/json'].schema;
    expect(create.properties.name.pattern).toBe('^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$');
    expect(r.body.components.schemas.Error.properties.error.properties.code.enum).toContain('model-not-found');
  });

  it('documents every route it serves, and serves every route it documents', () => {
    const toOpenApi = (path: string) => path.replace(/^\/api\/v1/, '').replace(/:(\w+)(\{[^}]*\})?/g, '{$1}').replace(/\/\*$/, '') || '/';
    const served = new Set(
      app.routes
        // MLflow's REST subset (/mlflow/{ns}/api/2.0/…) is MLflow's API, documented by MLflow and docs/MLFLOW.md, not Hangar's OpenAPI document.
        .filter((r) => r.method !== 'ALL' && r.method !== 'OPTIONS' && !r.path.startsWith('/mlflow/'))
        .map((r) => `${r.method.toLowerCase()} ${toOpenApi(r.path).replace(/\/$/, '')}`),
    );
    const documented = new Set(routeDocs.map((d) => `${d.method} ${d.path}`));
    expect([...served].filter((r) => !documented.has(r))).toEqual([]);
    expect([...documented].filter((r) => !served.has(r))).toEqual([]);
  });

  it('answers 404 route-not-found as JSON for an unknown route', async () => {
    expectError(await call('GET', '/nowhere'), 404, 'route-not-found');
  });
});
