import { describe, expect, it } from 'vitest';
import { modelId } from '../../shared/ids.ts';
import { call, expectError, tokenFor } from './api.ts';
import { mixedOps, syncClient } from './sync-client.ts';

// DESIGN §4/§5: every change records the token (id and name) that made it, and the
// namespace's events page them.

describe('events', () => {
  it('lists who did what, newest first, with the token names, in pages', async () => {
    const writer = await tokenFor('ev', 'write', { name: 'ci-pipeline' });
    const other = await tokenFor('ev', 'write', { name: 'alice laptop' });
    expect((await call('POST', '/namespaces/ev/models', { token: writer, body: { name: 'churn' } })).status).toBe(201);
    await call('POST', '/namespaces/ev/models/churn/versions', { token: writer, body: {} });
    await call('POST', '/namespaces/ev/models/churn/versions', { token: writer, body: {} });
    expect((await call('PUT', '/namespaces/ev/models/churn/aliases/production', { token: other, body: { version: 2 } })).status).toBe(200);
    expect((await call('DELETE', '/namespaces/ev/models/churn/versions/1', { token: other })).status).toBe(204);

    const all = await call('GET', '/namespaces/ev/events');
    expect(all.status).toBe(200);
    const summary = all.body.items.map((e: any) => [e.type, e.token?.name, e.model?.name]);
    expect(summary).toEqual([
      ['version.deleted', 'alice laptop', 'churn'],
      ['alias.moved', 'alice laptop', 'churn'],
      ['version.created', 'ci-pipeline', 'churn'],
      ['version.created', 'ci-pipeline', 'churn'],
      ['model.created', 'ci-pipeline', 'churn'],
    ]);
    const moved = all.body.items[1];
    expect(moved.data).toMatchObject({ alias: 'production', version: 2 });
    expect(typeof moved.token.id).toBe('string');
    expect(new Date(moved.at).getTime()).toBeGreaterThan(0);

    // Pages of two, following nextPageToken, give the same list.
    const seen: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const page = await call('GET', `/namespaces/ev/events?pageSize=2${token ? `&pageToken=${token}` : ''}`);
      expect(page.status).toBe(200);
      seen.push(...page.body.items.map((e: any) => e.type));
      token = page.body.nextPageToken;
      pages++;
    } while (token);
    expect(pages).toBe(3);
    expect(seen).toEqual(summary.map((s: string[]) => s[0]));

    // `after` follows the log oldest first from a position.
    const after = await call('GET', `/namespaces/ev/events?after=${all.body.items[2].seq}`);
    expect(after.body.items.map((e: any) => e.type)).toEqual(['alias.moved', 'version.deleted']);
    // An entity filter.
    const aliases = await call('GET', '/namespaces/ev/events?entity=alias');
    expect(aliases.body.items.map((e: any) => e.type)).toEqual(['alias.moved']);
  });

  it('names the admin token and records uploads and metrics summarised', async () => {
    await call('POST', '/namespaces/ev2/models', { body: { name: 'm' } });
    await call('POST', '/namespaces/ev2/models/m/metrics', {
      body: { metrics: Array.from({ length: 30 }, (_, i) => ({ key: i % 2 ? 'loss' : 'acc', value: i, step: i })) },
    });
    const r = await call('GET', '/namespaces/ev2/events');
    expect(r.body.items.map((e: any) => [e.type, e.token.name])).toEqual([
      ['metrics.logged', 'admin (HANGAR_ADMIN_TOKEN)'],
      ['model.created', 'admin (HANGAR_ADMIN_TOKEN)'],
    ]);
    expect(r.body.items[0].data).toEqual({ points: 30, keys: ['acc', 'loss'] });
    expect(r.body.items[0].token.id).toBeNull();
  });

  it('records the token of writes that arrive through sync', async () => {
    const t = await tokenFor('ev3', 'write', { name: 'browser tab' });
    const c = syncClient('ev3', t);
    const push = await c.push([{ name: 'model.create', args: { id: await modelId('ev3', 'synced'), name: 'synced', owner: null, task: 'tabular', description: null } }]);
    expect(push.status, JSON.stringify(push.body)).toBe(200);
    const r = await call('GET', '/namespaces/ev3/events', { token: t });
    expect(r.body.items.map((e: any) => [e.type, e.token.name])).toEqual([['model.created', 'browser tab']]);
    // A push of every kind, applied in runs: each of its rows names the token.
    const mixed = await c.pushAll(await mixedOps('ev3', 120));
    expect(mixed.results.filter((x) => x.status === 'applied').length).toBeGreaterThan(100);
    const names = new Set<string>();
    let pageToken = '';
    for (let i = 0; i < 50; i++) {
      const page = await call('GET', `/namespaces/ev3/events?pageSize=100${pageToken ? `&pageToken=${pageToken}` : ''}`, { token: t });
      for (const e of page.body.items) names.add(`${e.token.name}`);
      pageToken = page.body.nextPageToken;
      if (!pageToken) break;
    }
    expect([...names]).toEqual(['browser tab']);
  });

  it('refuses bad queries and other namespaces', async () => {
    expectError(await call('GET', '/namespaces/ev/events?pageToken=nonsense'), 400, 'invalid-page-token');
    expectError(await call('GET', '/namespaces/ev/events?pageSize=0'), 400, 'invalid-argument');
    expectError(await call('GET', '/namespaces/ev/events?entity=bogus'), 400, 'invalid-argument');
    const stranger = await tokenFor('elsewhere', 'admin');
    expectError(await call('GET', '/namespaces/ev/events', { token: stranger }), 404, 'namespace-not-found');
  });
});
