import { expect } from 'vitest';
import { sha256Hex } from '../../shared/ids.ts';
import { ADMIN, call } from './api.ts';
import { fetchLimited } from './d1-limits.ts';

export { sha256Hex };

/** `n` random bytes (getRandomValues fills at most 64 KiB at a time). */
export function randomBytes(n: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i += 65536) crypto.getRandomValues(out.subarray(i, Math.min(n, i + 65536)));
  return out;
}

/** A raw request whose body is read as bytes, for downloads. */
export async function fetchBytes(
  method: string,
  path: string,
  opts: { token?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; headers: Headers; bytes: Uint8Array }> {
  const { res } = await fetchLimited(
    new Request(`https://hangar.test/api/v1${path}`, {
      method,
      redirect: 'manual',
      headers: { authorization: `Bearer ${opts.token ?? ADMIN}`, ...opts.headers },
    }),
  );
  return { status: res.status, headers: res.headers, bytes: new Uint8Array(await res.arrayBuffer()) };
}

/** Sends a blob in one request and expects it stored. */
export async function putBlob(ns: string, bytes: Uint8Array, token?: string): Promise<string> {
  const sha = await sha256Hex(bytes);
  const r = await call('PUT', `/namespaces/${ns}/blobs/sha256/${sha}`, { raw: bytes, ...(token ? { token } : {}) });
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  return sha;
}

/** Sends a blob through a multipart upload (start, every part, complete). */
export async function uploadBlob(ns: string, bytes: Uint8Array, token?: string): Promise<string> {
  const sha = await sha256Hex(bytes);
  const auth = token ? { token } : {};
  const start = await call('POST', `/namespaces/${ns}/blobs/uploads`, { body: { sha256: sha, size: bytes.byteLength }, ...auth });
  expect(start.status, JSON.stringify(start.body)).toBeLessThan(300);
  if (start.body.exists) return sha;
  const { uploadId, partSize, partCount } = start.body;
  for (let n = 1; n <= partCount; n++) {
    const part = bytes.subarray((n - 1) * partSize, n * partSize);
    const r = await call('PUT', `/namespaces/${ns}/blobs/uploads/${uploadId}/parts/${n}`, { raw: part, ...auth });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
  }
  const done = await call('POST', `/namespaces/${ns}/blobs/uploads/${uploadId}/complete`, auth);
  expect(done.status, JSON.stringify(done.body)).toBe(201);
  return sha;
}

/** Creates a model (if missing) and a new version of it; returns the version's number. */
export async function newVersion(ns: string, model: string, token?: string): Promise<number> {
  const auth = token ? { token } : {};
  const m = await call('POST', `/namespaces/${ns}/models`, { body: { name: model }, ...auth });
  expect([201, 409]).toContain(m.status);
  const v = await call('POST', `/namespaces/${ns}/models/${model}/versions`, { body: {}, ...auth });
  expect(v.status, JSON.stringify(v.body)).toBe(201);
  return v.body.number as number;
}

/** A version's status, as the versions route reports it. */
export async function statusOf(ns: string, model: string, number: number): Promise<string> {
  const r = await call('GET', `/namespaces/${ns}/models/${model}/versions/${number}`);
  expect(r.status).toBe(200);
  return r.body.status as string;
}
