import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { call, expectError, tokenFor } from './api.ts';
import { fetchBytes, newVersion, putBlob, randomBytes, sha256Hex, statusOf, uploadBlob } from './blob-helpers.ts';

const modelArtifacts = (ns: string, model: string) => `/namespaces/${ns}/models/${model}/artifacts`;
const versionArtifacts = (ns: string, model: string, n: number) => `/namespaces/${ns}/models/${model}/versions/${n}/artifacts`;
const encodePath = (path: string) => path.split('/').map(encodeURIComponent).join('/');

async function fakeBlob(size = 64) {
  const bytes = randomBytes(size);
  return { bytes, sha256: await sha256Hex(bytes), size };
}

describe('artifacts: registering', () => {
  it('registers an uploaded artifact on a model with guessed MIME and file types', async () => {
    await call('POST', '/namespaces/art/models', { body: { name: 'm' } });
    const { sha256, size } = await fakeBlob();
    const r = await call('POST', modelArtifacts('art', 'm'), { body: { path: 'weights/model.onnx', sha256, size } });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ path: 'weights/model.onnx', mimeType: 'application/onnx', fileType: 'MODEL', size, sha256, stored: false });
    expect(r.body).not.toHaveProperty('url');
    const list = await call('GET', modelArtifacts('art', 'm'));
    expect(list.body.items.map((a: { path: string }) => a.path)).toEqual(['weights/model.onnx']);
  });

  it('returns 200 with the existing artifact for the same path and digest', async () => {
    await call('POST', '/namespaces/art/models', { body: { name: 'idem' } });
    const blob = await fakeBlob();
    const first = await call('POST', modelArtifacts('art', 'idem'), { body: { path: 'a.bin', sha256: blob.sha256, size: blob.size } });
    const again = await call('POST', modelArtifacts('art', 'idem'), { body: { path: 'a.bin', sha256: blob.sha256, size: blob.size } });
    expect(again.status).toBe(200);
    expect(again.body).toEqual(first.body);
  });

  it('returns 409 artifact-conflict for the same path with another digest', async () => {
    await call('POST', '/namespaces/art/models', { body: { name: 'conf' } });
    const [a, b] = [await fakeBlob(), await fakeBlob()];
    await call('POST', modelArtifacts('art', 'conf'), { body: { path: 'a.bin', sha256: a.sha256, size: a.size } });
    const r = await call('POST', modelArtifacts('art', 'conf'), { body: { path: 'a.bin', sha256: b.sha256, size: b.size } });
    expectError(r, 409, 'artifact-conflict');
    expect(r.body.error.details.existing).toMatchObject({ path: 'a.bin', sha256: a.sha256 });
  });

  it('returns 400 invalid-argument for bad paths, a missing digest, and the checkpoints/ prefix', async () => {
    await call('POST', '/namespaces/art/models', { body: { name: 'bad' } });
    const n = await newVersion('art', 'bad');
    const { sha256, size } = await fakeBlob();
    for (const path of ['../x', '/abs', 'a//b', 'a\\b']) {
      expectError(await call('POST', modelArtifacts('art', 'bad'), { body: { path, sha256, size } }), 400, 'invalid-argument');
    }
    expectError(await call('POST', modelArtifacts('art', 'bad'), { body: { path: 'x.bin', size } }), 400, 'invalid-argument');
    expectError(await call('POST', modelArtifacts('art', 'bad'), { body: { path: 'x.bin', sha256, size, mimeType: 'text/html\r\nX: 1' } }), 400, 'invalid-argument');
    expectError(await call('POST', versionArtifacts('art', 'bad', n), { body: { path: 'checkpoints/e1/w.bin', sha256, size } }), 400, 'invalid-argument');
  });

  it('returns 400 size-mismatch when the namespace holds those bytes with another size', async () => {
    await call('POST', '/namespaces/art/models', { body: { name: 'sizes' } });
    const blob = await fakeBlob(100);
    await putBlob('art', blob.bytes);
    expectError(await call('POST', modelArtifacts('art', 'sizes'), { body: { path: 'a.bin', sha256: blob.sha256, size: 99 } }), 400, 'size-mismatch');
  });

  it('returns 404 for an unknown model or version', async () => {
    expectError(await call('GET', modelArtifacts('art', 'nope')), 404, 'model-not-found');
    await call('POST', '/namespaces/art/models', { body: { name: 'nov' } });
    expectError(await call('GET', versionArtifacts('art', 'nov', 9)), 404, 'version-not-found');
    expectError(await call('GET', '/namespaces/art/models/nov/versions/x/artifacts'), 404, 'version-not-found');
  });

  it('writes one change-log row per registered artifact', async () => {
    await call('POST', '/namespaces/artlog/models', { body: { name: 'm' } });
    const { sha256, size } = await fakeBlob();
    await call('POST', modelArtifacts('artlog', 'm'), { body: { path: 'a.bin', sha256, size } });
    await call('POST', modelArtifacts('artlog', 'm'), { body: { path: 'a.bin', sha256, size } });
    const { results } = await env.DB.prepare("SELECT data FROM change_log WHERE namespace = 'artlog' AND entity = 'artifact'").all<{ data: string }>();
    expect(results.map((r) => JSON.parse(r.data))).toMatchObject([{ path: 'a.bin', sha256, size, parent: 'model' }]);
  });
});

describe('artifacts: reading bytes', () => {
  it('serves uploaded bytes with the artifact type, a download name and ranges', async () => {
    await call('POST', '/namespaces/bytes/models', { body: { name: 'm' } });
    const blob = await fakeBlob(500);
    const path = 'dir/my file é.json';
    await call('POST', modelArtifacts('bytes', 'm'), { body: { path, sha256: blob.sha256, size: blob.size } });
    const url = `${modelArtifacts('bytes', 'm')}/${encodePath(path)}`;
    expectError(await call('GET', url), 404, 'blob-not-found');
    await uploadBlob('bytes', blob.bytes);
    expect((await call('GET', modelArtifacts('bytes', 'm'))).body.items[0].stored).toBe(true);
    const r = await fetchBytes('GET', url);
    expect(r.status).toBe(200);
    expect(r.bytes).toEqual(blob.bytes);
    expect(r.headers.get('content-type')).toBe('application/json');
    expect(r.headers.get('content-disposition')).toBe(`attachment; filename="my file _.json"; filename*=UTF-8''my%20file%20%C3%A9.json`);
    const part = await fetchBytes('GET', url, { headers: { range: 'bytes=100-199' } });
    expect(part.status).toBe(206);
    expect(part.bytes).toEqual(blob.bytes.slice(100, 200));
    const head = await fetchBytes('HEAD', url);
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe('500');
  });

  it('redirects to the URL of a tracked artifact', async () => {
    await call('POST', '/namespaces/bytes/models', { body: { name: 'tracked' } });
    const r = await call('POST', modelArtifacts('bytes', 'tracked'), { body: { path: 'data.csv', url: 'https://example.com/data.csv' } });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ url: 'https://example.com/data.csv', mimeType: 'text/csv', fileType: 'TEXT', stored: false, size: null });
    const get = await fetchBytes('GET', `${modelArtifacts('bytes', 'tracked')}/data.csv`);
    expect(get.status).toBe(302);
    expect(get.headers.get('location')).toBe('https://example.com/data.csv');
  });

  it('returns 404 artifact-not-found for an unknown path and 400 for a path with ..', async () => {
    await call('POST', '/namespaces/bytes/models', { body: { name: 'none' } });
    expectError(await call('GET', `${modelArtifacts('bytes', 'none')}/missing.bin`), 404, 'artifact-not-found');
    expectError(await call('GET', `${modelArtifacts('bytes', 'none')}/a%2F..%2Fb`), 400, 'invalid-argument');
  });

  it('keeps model and version artifacts apart', async () => {
    const n = await newVersion('bytes', 'apart');
    const { sha256, size } = await fakeBlob();
    await call('POST', versionArtifacts('bytes', 'apart', n), { body: { path: 'v.bin', sha256, size } });
    expect((await call('GET', modelArtifacts('bytes', 'apart'))).body.items).toEqual([]);
    expect((await call('GET', versionArtifacts('bytes', 'apart', n))).body.items).toHaveLength(1);
  });
});

describe('artifacts: version status', () => {
  it('moves a version to pending on an artifact without bytes, and to ready when its last blob arrives', async () => {
    const n = await newVersion('status', 'm');
    expect(await statusOf('status', 'm', n)).toBe('ready');
    const [a, b] = [await fakeBlob(300), await fakeBlob(400)];
    await call('POST', versionArtifacts('status', 'm', n), { body: { path: 'a.bin', sha256: a.sha256, size: a.size } });
    await call('POST', versionArtifacts('status', 'm', n), { body: { path: 'b.bin', sha256: b.sha256, size: b.size } });
    expect(await statusOf('status', 'm', n)).toBe('pending');
    await uploadBlob('status', a.bytes);
    expect(await statusOf('status', 'm', n)).toBe('pending');
    await putBlob('status', b.bytes);
    expect(await statusOf('status', 'm', n)).toBe('ready');
    const { results } = await env.DB.prepare("SELECT data FROM change_log WHERE namespace = 'status' AND entity = 'version' AND op = 'status' ORDER BY seq")
      .all<{ data: string }>();
    expect(results.map((r) => JSON.parse(r.data).status)).toEqual(['pending', 'ready']);
  });

  it('keeps a version ready when the bytes of a new artifact are already stored', async () => {
    const n = await newVersion('status', 'stored');
    const blob = await fakeBlob();
    await putBlob('status', blob.bytes);
    const r = await call('POST', versionArtifacts('status', 'stored', n), { body: { path: 'a.bin', sha256: blob.sha256, size: blob.size } });
    expect(r.body.stored).toBe(true);
    expect(await statusOf('status', 'stored', n)).toBe('ready');
  });

  it('keeps a version pending and its bytes unreadable after a digest mismatch', async () => {
    const n = await newVersion('status', 'bad');
    const blob = await fakeBlob(256);
    await call('POST', versionArtifacts('status', 'bad', n), { body: { path: 'a.bin', sha256: blob.sha256, size: blob.size } });
    const { body } = await call('POST', '/namespaces/status/blobs/uploads', { body: { sha256: blob.sha256, size: blob.size } });
    await call('PUT', `/namespaces/status/blobs/uploads/${body.uploadId}/parts/1`, { raw: randomBytes(256) });
    expectError(await call('POST', `/namespaces/status/blobs/uploads/${body.uploadId}/complete`), 400, 'digest-mismatch');
    expect(await statusOf('status', 'bad', n)).toBe('pending');
    expectError(await call('GET', `${versionArtifacts('status', 'bad', n)}/a.bin`), 404, 'blob-not-found');
  });

  it('never changes a failed version', async () => {
    const n = await newVersion('status', 'failed');
    await call('PATCH', `/namespaces/status/models/failed/versions/${n}`, { body: { status: 'failed' } });
    const blob = await fakeBlob();
    await call('POST', versionArtifacts('status', 'failed', n), { body: { path: 'a.bin', sha256: blob.sha256, size: blob.size } });
    await putBlob('status', blob.bytes);
    expect(await statusOf('status', 'failed', n)).toBe('failed');
  });
});

describe('artifacts: namespaces', () => {
  it('never serves bytes to a namespace that registers their digest without uploading them', async () => {
    const blob = await fakeBlob(1000);
    await uploadBlob('holder', blob.bytes);
    const token = await tokenFor('thief', 'write');
    const n = await newVersion('thief', 'm', token);
    const r = await call('POST', versionArtifacts('thief', 'm', n), { token, body: { path: 'stolen.bin', sha256: blob.sha256, size: blob.size } });
    expect(r.status).toBe(201);
    expect(r.body.stored).toBe(false);
    expectError(await call('GET', `${versionArtifacts('thief', 'm', n)}/stolen.bin`, { token }), 404, 'blob-not-found');
    expectError(await call('GET', `/namespaces/thief/blobs/sha256/${blob.sha256}`, { token }), 404, 'blob-not-found');
    expect(await statusOf('thief', 'm', n)).toBe('pending');
    const start = await call('POST', '/namespaces/thief/blobs/uploads', { token, body: { sha256: blob.sha256, size: blob.size } });
    expect(start.status).toBe(201);
    expect(start.body).toMatchObject({ exists: false, partCount: 1, receivedParts: [] });
  });

  it('answers 404 namespace-not-found for a namespace the token may not see', async () => {
    await call('POST', '/namespaces/hidden/models', { body: { name: 'm' } });
    const token = await tokenFor('elsewhere', 'admin');
    expectError(await call('GET', modelArtifacts('hidden', 'm'), { token }), 404, 'namespace-not-found');
    expectError(await call('POST', modelArtifacts('hidden', 'm'), { token, body: { path: 'x', url: 'https://e.com/x' } }), 404, 'namespace-not-found');
  });
});
