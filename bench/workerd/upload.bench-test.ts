// A 256 MiB artifact through Hangar's resumable upload API (SELF.fetch) against plain R2
// multipart through the binding, the same bytes, in the same workerd.
import { env, SELF } from 'cloudflare:test';
import { expect, it } from 'vitest';
import { LIMITS } from '../../shared/limits.ts';
import { median, report, timed } from './report.ts';

const ADMIN = 'hgr_test_admin_token';
const MiB = 2 ** 20;
const SIZE = 256 * MiB;
const PART = LIMITS.uploadPartBytes;
const PARTS = Math.ceil(SIZE / PART);
const ROUNDS = 3;

/** 8 MiB of random bytes, made once; every part is a copy of it with its own first 16 bytes. */
const base = new Uint8Array(PART);
for (let i = 0; i < PART; i += 65536) crypto.getRandomValues(base.subarray(i, i + 65536));

/** Part n (1-based) of round `salt`: distinct bytes for every part and every round, so no round finds its blob stored. */
function part(salt: number, n: number): Uint8Array {
  const bytes = base.slice(0, Math.min(PART, SIZE - (n - 1) * PART));
  new DataView(bytes.buffer).setFloat64(0, salt);
  new DataView(bytes.buffer).setFloat64(8, n);
  return bytes;
}

async function sha256Of(salt: number): Promise<string> {
  const ds = new crypto.DigestStream('SHA-256');
  const writer = ds.getWriter();
  for (let n = 1; n <= PARTS; n++) await writer.write(part(salt, n));
  await writer.close();
  return [...new Uint8Array(await ds.digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

async function api(method: string, path: string, body?: BodyInit, json = false): Promise<Response> {
  const headers: Record<string, string> = { authorization: `Bearer ${ADMIN}` };
  if (json) headers['content-type'] = 'application/json';
  return SELF.fetch(`https://hangar.test/api/v1${path}`, { method, headers, body });
}

async function ok(res: Response, status: number, what: string): Promise<unknown> {
  if (res.status !== status) throw new Error(`${what} answered ${res.status}: ${await res.text()}`);
  return res.json();
}

/** Hangar: POST uploads, PUT each part, POST complete (which verifies size and SHA-256); in a fresh namespace. */
async function hangarRound(salt: number): Promise<{ ms: number; completeMs: number }> {
  const sha256 = await sha256Of(salt);
  const ns = `upload${salt}`;
  let completeMs = 0;
  const ms = await timed(async () => {
    const start = (await ok(
      await api('POST', `/namespaces/${ns}/blobs/uploads`, JSON.stringify({ sha256, size: SIZE }), true),
      201,
      'POST uploads',
    )) as { uploadId: string; partSize: number; partCount: number };
    if (start.partSize !== PART || start.partCount !== PARTS) throw new Error(`unexpected upload plan ${JSON.stringify(start)}`);
    for (let n = 1; n <= PARTS; n++) await ok(await api('PUT', `/namespaces/${ns}/blobs/uploads/${start.uploadId}/parts/${n}`, part(salt, n)), 200, `PUT part ${n}`);
    const completing = performance.now();
    const done = (await ok(await api('POST', `/namespaces/${ns}/blobs/uploads/${start.uploadId}/complete`), 201, 'complete')) as { sha256: string; size: number };
    completeMs = performance.now() - completing;
    expect(done).toEqual({ sha256, size: SIZE });
  });
  // Not timed: the bytes leave R2 so rounds do not pile up on disk.
  const row = await env.DB.prepare('SELECT r2_key FROM blobs WHERE sha256 = ?').bind(sha256).first<{ r2_key: string }>();
  expect(row).not.toBeNull();
  await env.BLOBS.delete(row!.r2_key);
  return { ms, completeMs };
}

/** The substrate: createMultipartUpload, uploadPart each part, complete, through the R2 binding. */
async function plainRound(salt: number): Promise<{ ms: number; completeMs: number }> {
  await sha256Of(salt); // the same untimed work as the Hangar side before its clock starts
  const key = `plain/${salt}`;
  let completeMs = 0;
  const ms = await timed(async () => {
    const upload = await env.BLOBS.createMultipartUpload(key);
    const parts: R2UploadedPart[] = [];
    for (let n = 1; n <= PARTS; n++) parts.push(await upload.uploadPart(n, part(salt, n)));
    const completing = performance.now();
    await upload.complete(parts);
    completeMs = performance.now() - completing;
  });
  const head = await env.BLOBS.head(key);
  expect(head?.size).toBe(SIZE);
  await env.BLOBS.delete(key);
  return { ms, completeMs };
}

const mbps = (ms: number) => Math.round((SIZE / 1e6 / (ms / 1000)) * 10) / 10;

it('uploads a 256 MiB artifact through the upload API vs plain R2 multipart', async () => {
  const samples = { hangar: [] as number[], plain: [] as number[], hangarComplete: [] as number[], plainComplete: [] as number[] };
  let salt = Date.now();
  for (let round = 0; round <= ROUNDS; round++) {
    const order = round % 2 === 0 ? (['hangar', 'plain'] as const) : (['plain', 'hangar'] as const);
    const got: Record<string, { ms: number; completeMs: number }> = {};
    for (const side of order) got[side] = await (side === 'hangar' ? hangarRound : plainRound)(++salt);
    const h = got.hangar!;
    const p = got.plain!;
    console.log(
      `upload round ${round}${round === 0 ? ' (warm-up)' : ''}: hangar ${Math.round(h.ms)} ms (complete ${Math.round(h.completeMs)} ms), plain R2 ${Math.round(p.ms)} ms (complete ${Math.round(p.completeMs)} ms)`,
    );
    if (round === 0) continue;
    samples.hangar.push(h.ms);
    samples.plain.push(p.ms);
    samples.hangarComplete.push(h.completeMs);
    samples.plainComplete.push(p.completeMs);
  }
  report({
    name: 'Upload a 256 MiB artifact through the resumable upload API: throughput',
    value: median(samples.hangar.map(mbps)),
    unit: 'MB/s',
    baseline: median(samples.plain.map(mbps)),
    goal: '≥ 0.8',
    note:
      `Hangar: POST /namespaces/{ns}/blobs/uploads { sha256, size }, PUT …/uploads/{id}/parts/{n} for each of the ${PARTS} parts of ${PART / MiB} MiB, POST …/complete (R2 joins the parts; the Worker has hashed each part as it arrived in order, hash-wasm's SHA-256 compiled to WebAssembly, its context carried from part to part through D1, pausing each MiB so R2 goes on taking the part, and checks the digest and size before recording the blob), via SELF.fetch with the admin token, timed from the first request to the complete answer; ` +
      `baseline: the same bytes through the R2 binding: createMultipartUpload, uploadPart × ${PARTS}, complete; both in the same workerd on local R2, parts made on the fly as copies of one random 8 MiB buffer with distinct headers (fresh bytes every round); MB = 10^6 bytes; median of ${ROUNDS} rounds after a warm-up, the side going first alternating. ` +
      `Of the Hangar time, the complete request took a median ${Math.round(median(samples.hangarComplete))} ms (plain complete(): ${Math.round(median(samples.plainComplete))} ms); the parts ${Math.round(median(samples.hangar.map((x, i) => x - samples.hangarComplete[i]!)))} ms (plain: ${Math.round(median(samples.plain.map((x, i) => x - samples.plainComplete[i]!)))} ms).`,
    samples: samples.hangar.map(mbps),
    baselineSamples: samples.plain.map(mbps),
  });
});
