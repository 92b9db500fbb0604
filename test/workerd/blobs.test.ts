import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { LIMITS } from '../../shared/limits.ts';
import { ADMIN, call, expectError, tokenFor } from './api.ts';
import { fetchLimited } from './d1-limits.ts';
import { fetchBytes, putBlob, randomBytes, sha256Hex, uploadBlob } from './blob-helpers.ts';

const MiB = 1024 * 1024;
const blobPath = (ns: string, sha: string) => `/namespaces/${ns}/blobs/sha256/${sha}`;
const uploads = (ns: string) => `/namespaces/${ns}/blobs/uploads`;

describe('blobs: one-request PUT', () => {
  it('stores a small blob and serves it with immutable caching headers', async () => {
    const bytes = randomBytes(3000);
    const sha = await sha256Hex(bytes);
    const put = await call('PUT', blobPath('small', sha), { raw: bytes });
    expect(put.status).toBe(201);
    expect(put.body).toEqual({ sha256: sha, size: 3000 });
    const get = await fetchBytes('GET', blobPath('small', sha));
    expect(get.status).toBe(200);
    expect(get.bytes).toEqual(bytes);
    expect(get.headers.get('etag')).toBe(`"${sha}"`);
    expect(get.headers.get('cache-control')).toBe('private, max-age=31536000, immutable');
    expect(get.headers.get('accept-ranges')).toBe('bytes');
    expect(get.headers.get('content-type')).toBe('application/octet-stream');
    expect(get.headers.get('content-length')).toBe('3000');
  });

  it('answers HEAD with the headers and no body', async () => {
    const sha = await putBlob('small', randomBytes(100));
    const head = await fetchBytes('HEAD', blobPath('small', sha));
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe('100');
    expect(head.bytes.byteLength).toBe(0);
  });

  it('answers 304 to a conditional GET with the blob ETag', async () => {
    const sha = await putBlob('small', randomBytes(10));
    const r = await fetchBytes('GET', blobPath('small', sha), { headers: { 'if-none-match': `"${sha}"` } });
    expect(r.status).toBe(304);
  });

  it('returns 400 digest-mismatch when the bytes do not hash to the digest, and stores nothing', async () => {
    const claimed = await sha256Hex(randomBytes(64));
    expectError(await call('PUT', blobPath('small', claimed), { raw: randomBytes(64) }), 400, 'digest-mismatch');
    expectError(await call('GET', blobPath('small', claimed)), 404, 'blob-not-found');
  });

  it('returns 400 digest-mismatch for wrong bytes even when the digest is stored already', async () => {
    const sha = await putBlob('small', randomBytes(50));
    expectError(await call('PUT', blobPath('small', sha), { raw: randomBytes(50) }), 400, 'digest-mismatch');
  });

  it('returns 400 invalid-argument for a digest that is not 64 lower-case hex digits', async () => {
    expectError(await call('PUT', blobPath('small', 'ABC'), { raw: new Uint8Array(1) }), 400, 'invalid-argument');
    expectError(await call('GET', blobPath('small', 'A'.repeat(64))), 400, 'invalid-argument');
  });

  it('returns 400 invalid-argument for a body without Content-Length', async () => {
    const bytes = randomBytes(10);
    const body = new ReadableStream({
      start(ctl) {
        ctl.enqueue(bytes);
        ctl.close();
      },
    });
    // Straight to the app: a streamed body has no Content-Length (it is sent chunked).
    const req = new Request(`https://hangar.test/api/v1${blobPath('small', await sha256Hex(bytes))}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${ADMIN}` },
      body,
    });
    const { res } = await fetchLimited(req);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('invalid-argument');
  });

  it('returns 413 payload-too-large past the one-request limit, pointing to multipart uploads', async () => {
    const big = new Uint8Array(LIMITS.singlePutBytes + 1);
    const r = await call('PUT', blobPath('small', await sha256Hex(big)), { raw: big });
    expectError(r, 413, 'payload-too-large');
    expect(r.body.error.message).toMatch(/multipart/);
  });

  it('returns 403 permission-denied for a read token', async () => {
    const reader = await tokenFor('small', 'read');
    const bytes = randomBytes(5);
    expectError(await call('PUT', blobPath('small', await sha256Hex(bytes)), { raw: bytes, token: reader }), 403, 'permission-denied');
  });
});

describe('blobs: ranges', () => {
  it('serves one range as 206 with Content-Range, a suffix range, and 416 outside the blob', async () => {
    const bytes = randomBytes(1000);
    const sha = await putBlob('ranges', bytes);
    const mid = await fetchBytes('GET', blobPath('ranges', sha), { headers: { range: 'bytes=10-19' } });
    expect(mid.status).toBe(206);
    expect(mid.headers.get('content-range')).toBe('bytes 10-19/1000');
    expect(mid.bytes).toEqual(bytes.slice(10, 20));
    const tail = await fetchBytes('GET', blobPath('ranges', sha), { headers: { range: 'bytes=-5' } });
    expect(tail.status).toBe(206);
    expect(tail.bytes).toEqual(bytes.slice(995));
    const open = await fetchBytes('GET', blobPath('ranges', sha), { headers: { range: 'bytes=990-' } });
    expect(open.headers.get('content-range')).toBe('bytes 990-999/1000');
    const out = await call('GET', blobPath('ranges', sha), { headers: { range: 'bytes=1000-' } });
    expectError(out, 416, 'range-not-satisfiable');
    expect(out.headers.get('content-range')).toBe('bytes */1000');
  });

  it('ignores a malformed or multi-part Range and sends everything', async () => {
    const bytes = randomBytes(100);
    const sha = await putBlob('ranges', bytes);
    for (const range of ['bytes=5-2', 'items=0-1', 'bytes=0-1,5-6']) {
      const r = await fetchBytes('GET', blobPath('ranges', sha), { headers: { range } });
      expect(r.status).toBe(200);
      expect(r.bytes).toEqual(bytes);
    }
  });
});

describe('blobs: multipart uploads', () => {
  it('uploads a blob larger than two parts, resumes after an interruption, and serves it whole and by range', async () => {
    const size = 2 * LIMITS.uploadPartBytes + 1024;
    const bytes = randomBytes(size);
    const sha = await sha256Hex(bytes);
    const start = await call('POST', uploads('big'), { body: { sha256: sha, size } });
    expect(start.status).toBe(201);
    expect(start.body).toMatchObject({ exists: false, partSize: LIMITS.uploadPartBytes, partCount: 3, receivedParts: [] });
    const { uploadId, partSize } = start.body;
    const part = (n: number) => bytes.subarray((n - 1) * partSize, n * partSize);

    const p1 = await call('PUT', `${uploads('big')}/${uploadId}/parts/1`, { raw: part(1) });
    expect(p1.status).toBe(200);
    expect(p1.body).toEqual({ part: 1, size: partSize, receivedParts: [1] });
    // The client is interrupted here; it asks what arrived, then sends the rest.
    const status = await call('GET', `${uploads('big')}/${uploadId}`);
    expect(status.body).toEqual({ uploadId, sha256: sha, size, partSize, partCount: 3, receivedParts: [1], missingParts: [2, 3] });
    const again = await call('POST', uploads('big'), { body: { sha256: sha, size } });
    expect(again.body).toMatchObject({ exists: false, uploadId, receivedParts: [1] });

    expectError(await call('POST', `${uploads('big')}/${uploadId}/complete`), 409, 'upload-incomplete');
    for (const n of [3, 2]) expect((await call('PUT', `${uploads('big')}/${uploadId}/parts/${n}`, { raw: part(n) })).status).toBe(200);
    const done = await call('POST', `${uploads('big')}/${uploadId}/complete`);
    expect(done.status).toBe(201);
    expect(done.body).toEqual({ sha256: sha, size });

    const whole = await fetchBytes('GET', blobPath('big', sha));
    expect(whole.status).toBe(200);
    expect(whole.bytes.byteLength).toBe(size);
    expect(await sha256Hex(whole.bytes)).toBe(sha);
    const from = partSize - 10;
    const span = await fetchBytes('GET', blobPath('big', sha), { headers: { range: `bytes=${from}-${from + 2047}` } });
    expect(span.status).toBe(206);
    expect(span.headers.get('content-range')).toBe(`bytes ${from}-${from + 2047}/${size}`);
    expect(span.bytes).toEqual(bytes.slice(from, from + 2048));

    const known = await call('POST', uploads('big'), { body: { sha256: sha, size } });
    expect(known.status).toBe(200);
    expect(known.body).toEqual({ exists: true, sha256: sha, size });
    expectError(await call('POST', `${uploads('big')}/${uploadId}/complete`), 404, 'upload-not-found');
  });

  it('returns 409 upload-incomplete with the missing parts in details', async () => {
    const bytes = randomBytes(LIMITS.uploadPartBytes + 1);
    const start = await call('POST', uploads('parts'), { body: { sha256: await sha256Hex(bytes), size: bytes.byteLength } });
    const r = await call('POST', `${uploads('parts')}/${start.body.uploadId}/complete`);
    expectError(r, 409, 'upload-incomplete');
    expect(r.body.error.details.missingParts).toEqual([1, 2]);
  });

  it('checks part numbers and exact part sizes', async () => {
    const bytes = randomBytes(LIMITS.uploadPartBytes + 100);
    const { body } = await call('POST', uploads('parts'), { body: { sha256: await sha256Hex(bytes), size: bytes.byteLength } });
    const url = (n: number | string) => `${uploads('parts')}/${body.uploadId}/parts/${n}`;
    expectError(await call('PUT', url(0), { raw: bytes.subarray(0, 100) }), 400, 'invalid-argument');
    expectError(await call('PUT', url(3), { raw: bytes.subarray(0, 100) }), 400, 'invalid-argument');
    expectError(await call('PUT', url('x'), { raw: bytes.subarray(0, 100) }), 400, 'invalid-argument');
    expectError(await call('PUT', url(2), { raw: bytes.subarray(0, 99) }), 400, 'size-mismatch');
    expectError(await call('PUT', url(1), { raw: bytes.subarray(0, 5 * MiB) }), 400, 'size-mismatch');
    expectError(await call('PUT', url(1), { raw: new Uint8Array(LIMITS.uploadPartBytes + 1) }), 413, 'payload-too-large');
    // Re-sending a part is harmless.
    for (let i = 0; i < 2; i++) expect((await call('PUT', url(2), { raw: bytes.subarray(LIMITS.uploadPartBytes) })).body.receivedParts).toEqual([2]);
  });

  it('returns 400 digest-mismatch at completion when the parts are other bytes, and records nothing', async () => {
    const announced = randomBytes(2048);
    const sent = randomBytes(2048);
    const sha = await sha256Hex(announced);
    const { body } = await call('POST', uploads('wrong'), { body: { sha256: sha, size: 2048 } });
    await call('PUT', `${uploads('wrong')}/${body.uploadId}/parts/1`, { raw: sent });
    expectError(await call('POST', `${uploads('wrong')}/${body.uploadId}/complete`), 400, 'digest-mismatch');
    expectError(await call('GET', `${uploads('wrong')}/${body.uploadId}`), 404, 'upload-not-found');
    expectError(await call('GET', blobPath('wrong', sha)), 404, 'blob-not-found');
    expect(await env.DB.prepare('SELECT COUNT(*) AS n FROM blobs WHERE sha256 = ?').bind(sha).first('n')).toBe(0);
    expect((await env.BLOBS.list({ prefix: `sha256/${sha}` })).objects).toEqual([]);
  });

  it('hashes parts sent in order as they arrive, and reads the object again when a part is replaced', async () => {
    const bytes = randomBytes(2 * LIMITS.uploadPartBytes + 10);
    const sha = await sha256Hex(bytes);
    const part = (n: number) => bytes.subarray((n - 1) * LIMITS.uploadPartBytes, n * LIMITS.uploadPartBytes);
    const hashed = (id: string) => env.DB.prepare('SELECT hashed_parts FROM uploads WHERE id = ?').bind(id).first('hashed_parts');
    const inOrder = (await call('POST', uploads('digest'), { body: { sha256: sha, size: bytes.byteLength } })).body.uploadId;
    for (const n of [1, 2, 3]) await call('PUT', `${uploads('digest')}/${inOrder}/parts/${n}`, { raw: part(n) });
    expect(await hashed(inOrder)).toBe(3);
    expect((await call('POST', `${uploads('digest')}/${inOrder}/complete`)).status).toBe(201);

    // Part 1 replaced by other bytes after the digest covered it: the digest no longer speaks
    // for the stored parts, so completion hashes the object and finds the mismatch.
    const other = randomBytes(2 * LIMITS.uploadPartBytes + 10);
    const sha2 = await sha256Hex(other);
    const replaced = (await call('POST', uploads('digest'), { body: { sha256: sha2, size: other.byteLength } })).body.uploadId;
    const otherPart = (n: number) => other.subarray((n - 1) * LIMITS.uploadPartBytes, n * LIMITS.uploadPartBytes);
    for (const n of [1, 2, 3]) await call('PUT', `${uploads('digest')}/${replaced}/parts/${n}`, { raw: otherPart(n) });
    await call('PUT', `${uploads('digest')}/${replaced}/parts/1`, { raw: part(1) });
    expect(await hashed(replaced)).toBe(0);
    expectError(await call('POST', `${uploads('digest')}/${replaced}/complete`), 400, 'digest-mismatch');
  });

  it('drops a running digest it cannot read (an upload begun before a change of format), then verifies by reading', async () => {
    const bytes = randomBytes(2 * LIMITS.uploadPartBytes + 10);
    const sha = await sha256Hex(bytes);
    const part = (n: number) => bytes.subarray((n - 1) * LIMITS.uploadPartBytes, n * LIMITS.uploadPartBytes);
    const row = (id: string) => env.DB.prepare('SELECT hashed_parts, digest_state FROM uploads WHERE id = ?').bind(id).first();
    const id = (await call('POST', uploads('olddigest'), { body: { sha256: sha, size: bytes.byteLength } })).body.uploadId;
    await call('PUT', `${uploads('olddigest')}/${id}/parts/1`, { raw: part(1) });
    await env.DB.prepare('UPDATE uploads SET digest_state = ? WHERE id = ?').bind(JSON.stringify({ words: [1, 2, 3, 4, 5, 6, 7, 8], bytes: LIMITS.uploadPartBytes }), id).run();
    await call('PUT', `${uploads('olddigest')}/${id}/parts/2`, { raw: part(2) });
    expect(await row(id)).toEqual({ hashed_parts: 0, digest_state: null });
    await call('PUT', `${uploads('olddigest')}/${id}/parts/3`, { raw: part(3) });
    expect((await call('POST', `${uploads('olddigest')}/${id}/complete`)).body).toEqual({ sha256: sha, size: bytes.byteLength });
  });

  it('drops the running digest when a part arrives where its hasher is not (another isolate), then verifies by reading', async () => {
    const bytes = randomBytes(2 * LIMITS.uploadPartBytes + 10);
    const sha = await sha256Hex(bytes);
    const part = (n: number) => bytes.subarray((n - 1) * LIMITS.uploadPartBytes, n * LIMITS.uploadPartBytes);
    const row = (id: string) => env.DB.prepare('SELECT hashed_parts, digest_state FROM uploads WHERE id = ?').bind(id).first<{ hashed_parts: number; digest_state: string | null }>();
    const id = (await call('POST', uploads('elsewhere'), { body: { sha256: sha, size: bytes.byteLength } })).body.uploadId;
    await call('PUT', `${uploads('elsewhere')}/${id}/parts/1`, { raw: part(1) });
    expect(Object.keys(JSON.parse((await row(id))!.digest_state!))).toEqual(['held']);
    // What the row says after part 1 hashed by an isolate this one is not.
    await env.DB.prepare('UPDATE uploads SET digest_state = ? WHERE id = ?').bind(JSON.stringify({ held: crypto.randomUUID() }), id).run();
    await call('PUT', `${uploads('elsewhere')}/${id}/parts/2`, { raw: part(2) });
    expect(await row(id)).toEqual({ hashed_parts: 0, digest_state: null });
    await call('PUT', `${uploads('elsewhere')}/${id}/parts/3`, { raw: part(3) });
    expect((await call('POST', `${uploads('elsewhere')}/${id}/complete`)).body).toEqual({ sha256: sha, size: bytes.byteLength });

    // The same with other bytes in part 2: reading the object finds them.
    const other = randomBytes(2 * LIMITS.uploadPartBytes + 10);
    const sha2 = await sha256Hex(other);
    const id2 = (await call('POST', uploads('elsewhere'), { body: { sha256: sha2, size: other.byteLength } })).body.uploadId;
    await call('PUT', `${uploads('elsewhere')}/${id2}/parts/1`, { raw: other.subarray(0, LIMITS.uploadPartBytes) });
    await env.DB.prepare('UPDATE uploads SET digest_state = ? WHERE id = ?').bind(JSON.stringify({ held: crypto.randomUUID() }), id2).run();
    await call('PUT', `${uploads('elsewhere')}/${id2}/parts/2`, { raw: part(2) });
    await call('PUT', `${uploads('elsewhere')}/${id2}/parts/3`, { raw: other.subarray(2 * LIMITS.uploadPartBytes) });
    expectError(await call('POST', `${uploads('elsewhere')}/${id2}/complete`), 400, 'digest-mismatch');
  });

  it('records a part sent in order in one D1 round trip, with no read of the upload first', async () => {
    const bytes = randomBytes(2 * LIMITS.uploadPartBytes + 10);
    const sha = await sha256Hex(bytes);
    const part = (n: number) => bytes.subarray((n - 1) * LIMITS.uploadPartBytes, n * LIMITS.uploadPartBytes);
    const id = (await call('POST', uploads('trips'), { body: { sha256: sha, size: bytes.byteLength } })).body.uploadId;
    for (const n of [1, 2, 3]) {
      const r = await call('PUT', `${uploads('trips')}/${id}/parts/${n}`, { raw: part(n) });
      expect(r.body.receivedParts).toEqual([1, 2, 3].slice(0, n));
      // The batch that records the part and moves the digest on; nothing after the answer (no webhook dispatch).
      expect(r.roundTrips).toBe(1);
    }
    expect(await env.DB.prepare('SELECT hashed_parts FROM uploads WHERE id = ?').bind(id).first('hashed_parts')).toBe(3);
    // A part sent again is not the next in order: the row is read, and the digest no longer holds.
    const again = await call('PUT', `${uploads('trips')}/${id}/parts/3`, { raw: part(3) });
    expect(again.roundTrips).toBe(2);
    expect(await env.DB.prepare('SELECT hashed_parts FROM uploads WHERE id = ?').bind(id).first('hashed_parts')).toBe(0);
    expect((await call('POST', `${uploads('trips')}/${id}/complete`)).body).toEqual({ sha256: sha, size: bytes.byteLength });
  });

  it('answers 404 upload-not-found for a part whose upload went while R2 took it, and records nothing', async () => {
    const bytes = randomBytes(2 * LIMITS.uploadPartBytes);
    const sha = await sha256Hex(bytes);
    const id = (await call('POST', uploads('gone'), { body: { sha256: sha, size: bytes.byteLength } })).body.uploadId;
    await call('PUT', `${uploads('gone')}/${id}/parts/1`, { raw: bytes.subarray(0, LIMITS.uploadPartBytes) });
    // The rows go (as a completion or an abort elsewhere removes them) while R2's upload is still open.
    await env.DB.batch([env.DB.prepare('DELETE FROM upload_parts WHERE upload_id = ?').bind(id), env.DB.prepare('DELETE FROM uploads WHERE id = ?').bind(id)]);
    expectError(await call('PUT', `${uploads('gone')}/${id}/parts/2`, { raw: bytes.subarray(LIMITS.uploadPartBytes) }), 404, 'upload-not-found');
    expect(await env.DB.prepare('SELECT COUNT(*) AS n FROM upload_parts WHERE upload_id = ?').bind(id).first('n')).toBe(0);
    expectError(await call('PUT', `${uploads('gone')}/${id}/parts/2`, { raw: bytes.subarray(LIMITS.uploadPartBytes) }), 404, 'upload-not-found');
  });

  it('uploads an empty blob as one empty part', async () => {
    const sha = await sha256Hex(new Uint8Array(0));
    const start = await call('POST', uploads('empty'), { body: { sha256: sha, size: 0 } });
    expect(start.body).toMatchObject({ exists: false, partCount: 1 });
    expect((await call('PUT', `${uploads('empty')}/${start.body.uploadId}/parts/1`, { raw: new Uint8Array(0) })).status).toBe(200);
    expect((await call('POST', `${uploads('empty')}/${start.body.uploadId}/complete`)).status).toBe(201);
    const get = await fetchBytes('GET', blobPath('empty', sha));
    expect(get.status).toBe(200);
    expect(get.bytes.byteLength).toBe(0);
  });

  it('aborts an upload, after which it is gone', async () => {
    const bytes = randomBytes(10);
    const { body } = await call('POST', uploads('abort'), { body: { sha256: await sha256Hex(bytes), size: 10 } });
    await call('PUT', `${uploads('abort')}/${body.uploadId}/parts/1`, { raw: bytes });
    expect((await call('DELETE', `${uploads('abort')}/${body.uploadId}`)).status).toBe(204);
    expectError(await call('GET', `${uploads('abort')}/${body.uploadId}`), 404, 'upload-not-found');
    expectError(await call('DELETE', `${uploads('abort')}/${body.uploadId}`), 404, 'upload-not-found');
    expectError(await call('PUT', `${uploads('abort')}/${body.uploadId}/parts/1`, { raw: bytes }), 404, 'upload-not-found');
  });

  it('returns 400 size-mismatch when starting an upload of held bytes with another size', async () => {
    const bytes = randomBytes(40);
    const sha = await putBlob('held', bytes);
    expectError(await call('POST', uploads('held'), { body: { sha256: sha, size: 41 } }), 400, 'size-mismatch');
  });

  it('returns 400 invalid-argument for a part sent without Content-Length', async () => {
    const bytes = randomBytes(10);
    const { body } = await call('POST', uploads('parts'), { body: { sha256: await sha256Hex(bytes), size: 10 } });
    const stream = new ReadableStream({
      start(ctl) {
        ctl.enqueue(bytes);
        ctl.close();
      },
    });
    const req = new Request(`https://hangar.test/api/v1${uploads('parts')}/${body.uploadId}/parts/1`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${ADMIN}` },
      body: stream,
    });
    const { res } = await fetchLimited(req);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('invalid-argument');
  });

  it('returns 400 invalid-argument for a bad start body and 404 upload-not-found for an unknown id', async () => {
    expectError(await call('POST', uploads('bad'), { body: { sha256: 'xyz', size: 1 } }), 400, 'invalid-argument');
    expectError(await call('POST', uploads('bad'), { body: { sha256: 'a'.repeat(64), size: -1 } }), 400, 'invalid-argument');
    expectError(await call('GET', `${uploads('bad')}/not-an-id`), 404, 'upload-not-found');
    expectError(await call('POST', `${uploads('bad')}/00000000-0000-7000-8000-000000000000/complete`), 404, 'upload-not-found');
  });
});

describe('blobs: namespaces', () => {
  it('never lets a namespace read bytes it did not upload, and answers its upload start like a fresh blob', async () => {
    const bytes = randomBytes(4096);
    const sha = await uploadBlob('owner', bytes);
    const other = await tokenFor('nosy', 'write');
    expectError(await call('GET', blobPath('nosy', sha), { token: other }), 404, 'blob-not-found');
    expectError(await call('GET', blobPath('owner', sha), { token: other }), 404, 'namespace-not-found');
    const start = await call('POST', uploads('nosy'), { token: other, body: { sha256: sha, size: 4096 } });
    const fresh = await call('POST', uploads('nosy'), { token: other, body: { sha256: await sha256Hex(randomBytes(4096)), size: 4096 } });
    expect(start.status).toBe(fresh.status);
    expect(Object.keys(start.body).sort()).toEqual(Object.keys(fresh.body).sort());
    expect(start.body).toMatchObject({ exists: false, partCount: 1, receivedParts: [] });
  });

  it('answers 404 upload-not-found for an upload of another namespace', async () => {
    const bytes = randomBytes(32);
    const { body } = await call('POST', uploads('owner'), { body: { sha256: await sha256Hex(bytes), size: 32 } });
    const other = await tokenFor('nosy', 'write');
    expectError(await call('GET', `${uploads('nosy')}/${body.uploadId}`, { token: other }), 404, 'upload-not-found');
    expectError(await call('PUT', `${uploads('nosy')}/${body.uploadId}/parts/1`, { token: other, raw: bytes }), 404, 'upload-not-found');
    expectError(await call('POST', `${uploads('nosy')}/${body.uploadId}/complete`, { token: other }), 404, 'upload-not-found');
    expectError(await call('DELETE', `${uploads('nosy')}/${body.uploadId}`, { token: other }), 404, 'upload-not-found');
  });

  it('lets a second namespace that sends the same bytes read them, keeping one stored copy', async () => {
    const bytes = randomBytes(777);
    const sha = await putBlob('first', bytes);
    const second = await tokenFor('second', 'write');
    expectError(await call('GET', blobPath('second', sha), { token: second }), 404, 'blob-not-found');
    await uploadBlob('second', bytes, second);
    const r = await fetchBytes('GET', blobPath('second', sha), { token: second });
    expect(r.bytes).toEqual(bytes);
    const third = await tokenFor('third', 'write');
    await putBlob('third', bytes, third);
    expect((await fetchBytes('GET', blobPath('third', sha), { token: third })).bytes).toEqual(bytes);
    expect((await env.BLOBS.list({ prefix: `sha256/${sha}` })).objects.length).toBe(1);
  });
});
