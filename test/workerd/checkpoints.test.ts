import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { call, expectError, tokenFor } from './api.ts';
import { fetchBytes, newVersion, putBlob, randomBytes, sha256Hex, statusOf } from './blob-helpers.ts';

const checkpoints = (ns: string, model: string, n: number) => `/namespaces/${ns}/models/${model}/versions/${n}/checkpoints`;

async function files(...sizes: number[]) {
  return Promise.all(
    sizes.map(async (size, i) => {
      const bytes = randomBytes(size);
      return { bytes, file: { path: i === 0 ? 'model.json' : `weights/group${i}.bin`, size, sha256: await sha256Hex(bytes) } };
    }),
  );
}

describe('checkpoints', () => {
  it('saves a checkpoint as version artifacts, moves default, and lists both', async () => {
    const n = await newVersion('ckpt', 'm');
    const saved = await files(100, 200);
    const r = await call('PUT', `${checkpoints('ckpt', 'm', n)}/epoch_1`, { body: { files: saved.map((f) => f.file) } });
    expect(r.status).toBe(201);
    expect(r.body.handle).toBe('epoch_1');
    expect(r.body.files).toHaveLength(2);
    expect(r.body.files[0]).toMatchObject({
      file: 'model.json',
      path: 'checkpoints/epoch_1/model.json',
      fileType: 'CHECKPOINT',
      mimeType: 'application/json',
      stored: false,
    });

    const def = await call('GET', `${checkpoints('ckpt', 'm', n)}/default`);
    expect(def.status).toBe(200);
    expect(def.body).toMatchObject({ handle: 'default', target: 'epoch_1' });
    expect(def.body.files.map((f: { file: string }) => f.file)).toEqual(['model.json', 'weights/group1.bin']);

    const list = await call('GET', checkpoints('ckpt', 'm', n));
    expect(list.body.default).toBe('epoch_1');
    expect(list.body.items.map((c: { handle: string }) => c.handle)).toEqual(['epoch_1']);

    const arts = await call('GET', `/namespaces/ckpt/models/m/versions/${n}/artifacts`);
    expect(arts.body.items.map((a: { path: string }) => a.path)).toEqual(['checkpoints/epoch_1/model.json', 'checkpoints/epoch_1/weights/group1.bin']);
  });

  it('keeps default where it was when setAsDefault is false, and moves it otherwise', async () => {
    const n = await newVersion('ckpt', 'moves');
    const [a] = await files(10);
    await call('PUT', `${checkpoints('ckpt', 'moves', n)}/e1`, { body: { files: [a!.file] } });
    await call('PUT', `${checkpoints('ckpt', 'moves', n)}/e2`, { body: { files: [a!.file], setAsDefault: false } });
    expect((await call('GET', `${checkpoints('ckpt', 'moves', n)}/default`)).body.target).toBe('e1');
    await call('PUT', `${checkpoints('ckpt', 'moves', n)}/e3`, { body: { files: [a!.file] } });
    const list = await call('GET', checkpoints('ckpt', 'moves', n));
    expect(list.body).toMatchObject({ default: 'e3' });
    expect(list.body.items.map((c: { handle: string }) => c.handle)).toEqual(['e1', 'e2', 'e3']);
  });

  it('returns 200 for the same files again and 409 checkpoint-exists for other files', async () => {
    const n = await newVersion('ckpt', 'immutable');
    const [a, b] = await files(10, 20);
    const url = `${checkpoints('ckpt', 'immutable', n)}/best`;
    await call('PUT', url, { body: { files: [a!.file, b!.file] } });
    const same = await call('PUT', url, { body: { files: [b!.file, a!.file] } });
    expect(same.status).toBe(200);
    expect(same.body.handle).toBe('best');
    expectError(await call('PUT', url, { body: { files: [a!.file] } }), 409, 'checkpoint-exists');
    const { results } = await env.DB.prepare("SELECT op FROM change_log WHERE namespace = 'ckpt' AND entity = 'checkpoint' AND entity_id LIKE ?")
      .bind('%/best')
      .all();
    expect(results).toHaveLength(1);
  });

  it('returns 400 invalid-argument for PUT to default, a bad handle, duplicate files and a bad body', async () => {
    const n = await newVersion('ckpt', 'bad');
    const [a] = await files(10);
    const base = checkpoints('ckpt', 'bad', n);
    expectError(await call('PUT', `${base}/default`, { body: { files: [a!.file] } }), 400, 'invalid-argument');
    expectError(await call('PUT', `${base}/.hidden`, { body: { files: [a!.file] } }), 400, 'invalid-argument');
    expectError(await call('PUT', `${base}/e1`, { body: { files: [a!.file, a!.file] } }), 400, 'invalid-argument');
    expectError(await call('PUT', `${base}/e1`, { body: { files: [] } }), 400, 'invalid-argument');
    expectError(await call('PUT', `${base}/e1`, { body: { files: [{ ...a!.file, path: '../x' }] } }), 400, 'invalid-argument');
    expectError(await call('PUT', `${base}/e1`, { body: { files: [{ ...a!.file, path: 'x'.repeat(1020) }] } }), 400, 'invalid-argument');
    expectError(await call('GET', `${base}/.hidden`), 400, 'invalid-argument');
    expect((await call('GET', base)).body).toEqual({ items: [], default: null });
  });

  it('returns 404 checkpoint-not-found for an unknown handle and for default before any save', async () => {
    const n = await newVersion('ckpt', 'none');
    expectError(await call('GET', `${checkpoints('ckpt', 'none', n)}/e9`), 404, 'checkpoint-not-found');
    expectError(await call('GET', `${checkpoints('ckpt', 'none', n)}/default`), 404, 'checkpoint-not-found');
    expectError(await call('GET', checkpoints('ckpt', 'none', 99)), 404, 'version-not-found');
  });

  it('keeps the version pending until every checkpoint file has arrived, then serves the files', async () => {
    const n = await newVersion('ckpt', 'status');
    const saved = await files(1000, 2000);
    await call('PUT', `${checkpoints('ckpt', 'status', n)}/epoch_3`, { body: { files: saved.map((f) => f.file) } });
    expect(await statusOf('ckpt', 'status', n)).toBe('pending');
    await putBlob('ckpt', saved[0]!.bytes);
    expect(await statusOf('ckpt', 'status', n)).toBe('pending');
    await putBlob('ckpt', saved[1]!.bytes);
    expect(await statusOf('ckpt', 'status', n)).toBe('ready');
    const loaded = await call('GET', `${checkpoints('ckpt', 'status', n)}/default`);
    expect(loaded.body.files.every((f: { stored: boolean }) => f.stored)).toBe(true);
    const bytes = await fetchBytes('GET', `/namespaces/ckpt/models/status/versions/${n}/artifacts/checkpoints/epoch_3/weights/group1.bin`);
    expect(bytes.bytes).toEqual(saved[1]!.bytes);
  });

  it('answers 404 namespace-not-found to a token of another namespace and 403 to a read token writing', async () => {
    const n = await newVersion('ckpt', 'guarded');
    const [a] = await files(10);
    const other = await tokenFor('stranger', 'admin');
    expectError(await call('GET', checkpoints('ckpt', 'guarded', n), { token: other }), 404, 'namespace-not-found');
    const reader = await tokenFor('ckpt', 'read');
    expectError(await call('PUT', `${checkpoints('ckpt', 'guarded', n)}/e1`, { token: reader, body: { files: [a!.file] } }), 403, 'permission-denied');
  });
});
