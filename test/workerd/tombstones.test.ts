// Metadata deletes keep a tombstone with the delete's clock (DESIGN §3 "deletes"): a set older
// than the delete never brings the key back, a newer one does, and no read shows a tombstone.
import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { formatHlc } from '../../shared/hlc.ts';
import { uuidv7 } from '../../shared/ids.ts';
import { call } from './api.ts';
import { newModelOp, statuses, syncClient } from './sync-client.ts';

const at = (offsetMs: number, node = 'dev') => formatHlc(Date.now() + offsetMs, 0, node);
const names = (r: { body: { items: { name: string }[] } }) => r.body.items.map((x) => x.name);

describe('metadata tombstones', () => {
  it('a set older than the delete does not bring the key back; a newer one does', async () => {
    const c = syncClient('tomb1');
    const m = await newModelOp('tomb1', 'keys');
    const set = (value: unknown, hlc: string) => ({ name: 'metadata.set', args: { parentId: m.args.id, key: 'team', value }, hlc });
    const r = await c.push([
      { ...m, hlc: at(-40_000) },
      set('growth', at(-30_000)),
      { name: 'metadata.delete', args: { parentId: m.args.id, key: 'team' }, hlc: at(-10_000) },
      set('late', at(-20_000, 'other')),
    ]);
    expect(statuses(r)).toEqual(['applied', 'applied', 'applied', 'applied']);
    const model = '/namespaces/tomb1/models/keys';
    expect((await call('GET', `${model}/metadata`)).body.metadata).toEqual({});
    expect((await call('GET', model)).body.metadata).toEqual({});
    // Listings and filters skip the tombstone.
    expect(names(await call('GET', `/namespaces/tomb1/models?filter=${encodeURIComponent("tags.team = 'late'")}`))).toEqual([]);
    expect(names(await call('GET', `/namespaces/tomb1/models?filter=${encodeURIComponent('tags.team IS NULL')}`))).toEqual(['keys']);
    expect((await call('GET', '/namespaces/tomb1/models')).body.items[0].metadata).toEqual({});
    // The tombstone row keeps the delete's clock.
    expect(await env.DB.prepare("SELECT deleted, hlc FROM metadata WHERE parent_id = ? AND key = 'team'").bind(m.args.id).first()).toMatchObject({ deleted: 1 });
    // A newer set revives the key.
    await c.push([set('revived', at(0))]);
    expect((await call('GET', `${model}/metadata`)).body.metadata).toEqual({ team: 'revived' });
    expect(names(await call('GET', `/namespaces/tomb1/models?filter=${encodeURIComponent("tags.team = 'revived'")}`))).toEqual(['keys']);
    // Pull tells the story: set, delete, set (the stale set logged nothing).
    const log = (await c.pull()).body.changes.filter((x) => x.entity === 'metadata').map((x) => `${x.op}:${JSON.stringify(x.data)}`);
    expect(log).toEqual(['set:{"key":"team","value":"growth"}', 'delete:{"key":"team"}', 'set:{"key":"team","value":"revived"}']);
  });

  it('a REST delete stops a sync set stamped before it, on versions too', async () => {
    const c = syncClient('tomb2');
    const m = await newModelOp('tomb2', 'rest');
    const v = uuidv7();
    await c.push([m, { name: 'version.create', args: { id: v, modelId: m.args.id } }]);
    const version = '/namespaces/tomb2/models/rest/versions/1';
    expect((await call('PUT', `${version}/metadata/lr`, { body: 0.1 })).status).toBe(200);
    expect((await call('DELETE', `${version}/metadata/lr`)).status).toBe(204);
    await c.push([{ name: 'metadata.set', args: { parentId: v, key: 'lr', value: 0.5 }, hlc: at(-60_000) }]);
    expect((await call('GET', version)).body.metadata).toEqual({});
    const filtered = await call('GET', `/namespaces/tomb2/models/rest/versions?filter=${encodeURIComponent('tags.lr = 0.5')}`);
    expect(filtered.body.items).toEqual([]);
    // A key deleted before it was ever set here: the set stamped earlier loses too.
    await c.push([
      { name: 'metadata.delete', args: { parentId: v, key: 'never' }, hlc: at(-1_000) },
      { name: 'metadata.set', args: { parentId: v, key: 'never', value: 1 }, hlc: at(-2_000) },
    ]);
    expect((await call('GET', `${version}/metadata`)).body.metadata).toEqual({});
  });

  it('a REST set after a delete brings the key back', async () => {
    const model = '/namespaces/tomb3/models/back';
    await call('POST', '/namespaces/tomb3/models', { body: { name: 'back', metadata: { a: 1 } } });
    expect((await call('DELETE', `${model}/metadata/a`)).status).toBe(204);
    expect((await call('PUT', `${model}/metadata/a`, { body: 2 })).body).toEqual({ key: 'a', value: 2 });
    expect((await call('GET', model)).body.metadata).toEqual({ a: 2 });
  });
});
