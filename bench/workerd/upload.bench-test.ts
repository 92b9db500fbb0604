// A 256 MiB and a 2 GiB artifact through Hangar's resumable upload API (SELF.fetch), parts in
// order (hashed as they arrive) and with the digest verified at complete (one native
// crypto.DigestStream read of the stored object), against plain R2 multipart through the binding:
// the same bytes, in the same workerd, in the same run. 2 GiB runs one timed round: more rounds
// of three sides (some 2,000 SELF.fetch calls in one test) overflowed the test pool's stack.
import { env, SELF } from 'cloudflare:test';
import { expect, it } from 'vitest';
import { LIMITS } from '../../shared/limits.ts';
import { HELD_MAX_BYTES } from '../../worker/domain/running-digest.ts';
import { median, report, timed } from './report.ts';

const ADMIN = 'hgr_test_admin_token';
const MiB = 2 ** 20;
const PART = LIMITS.uploadPartBytes;

/** 8 MiB of random bytes, made once; every part is a copy of it with its own first 16 bytes. */
const base = new Uint8Array(PART);
for (let i = 0; i < PART; i += 65536) crypto.getRandomValues(base.subarray(i, i + 65536));

/** Part n (1-based) of round `salt`: distinct bytes for every part and every round, so no round finds its blob stored. */
function part(SIZE: number, salt: number, n: number): Uint8Array {
  const bytes = base.slice(0, Math.min(PART, SIZE - (n - 1) * PART));
  new DataView(bytes.buffer).setFloat64(0, salt);
  new DataView(bytes.buffer).setFloat64(8, n);
  return bytes;
}

async function sha256Of(SIZE: number, salt: number): Promise<string> {
  const PARTS = Math.ceil(SIZE / PART);
  const ds = new crypto.DigestStream('SHA-256');
  const writer = ds.getWriter();
  for (let n = 1; n <= PARTS; n++) await writer.write(part(SIZE, salt, n));
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

/**
 * The order parts go in. `in order`: 1…n, which the Worker hashes as they arrive (what the
 * product does). `verify at complete`: part 1 last, so the running digest never starts past it
 * and `complete` hashes the stored object in one read with the runtime's native
 * crypto.DigestStream; only part 1 is still hashed on arrival.
 */
const ORDERS = {
  'in order': (parts: number) => Array.from({ length: parts }, (_, i) => i + 1),
  'verify at complete': (parts: number) => [...Array.from({ length: parts - 1 }, (_, i) => i + 2), 1],
};
type Order = keyof typeof ORDERS;

/**
 * One side's upload taken a step at a time (step 0 starts it, step n sends its n-th part), so
 * the sides' steps can be interleaved; `complete` ends it, `cleanup` (not timed) frees R2.
 */
interface Upload {
  step(i: number): Promise<void>;
  complete(): Promise<void>;
  cleanup(): Promise<void>;
}

/** Hangar: POST uploads, PUT each part, POST complete (which verifies size and SHA-256); in a fresh namespace. */
function hangarUpload(SIZE: number, salt: number, order: Order, sha256: string): Upload {
  const PARTS = Math.ceil(SIZE / PART);
  const ns = `upload${salt}`;
  const sequence = ORDERS[order](PARTS);
  let uploadId = '';
  return {
    async step(i) {
      if (i > 0) {
        const n = sequence[i - 1]!;
        await ok(await api('PUT', `/namespaces/${ns}/blobs/uploads/${uploadId}/parts/${n}`, part(SIZE, salt, n)), 200, `PUT part ${n}`);
        return;
      }
      const start = (await ok(await api('POST', `/namespaces/${ns}/blobs/uploads`, JSON.stringify({ sha256, size: SIZE }), true), 201, 'POST uploads')) as {
        uploadId: string;
        partSize: number;
        partCount: number;
      };
      if (start.partSize !== PART || start.partCount !== PARTS) throw new Error(`unexpected upload plan ${JSON.stringify(start)}`);
      uploadId = start.uploadId;
    },
    async complete() {
      const done = await ok(await api('POST', `/namespaces/${ns}/blobs/uploads/${uploadId}/complete`), 201, 'complete');
      expect(done).toEqual({ sha256, size: SIZE });
    },
    async cleanup() {
      // The bytes leave R2 so rounds do not pile up on disk.
      const row = await env.DB.prepare('SELECT r2_key FROM blobs WHERE sha256 = ?').bind(sha256).first<{ r2_key: string }>();
      expect(row).not.toBeNull();
      await env.BLOBS.delete(row!.r2_key);
    },
  };
}

/** The substrate: createMultipartUpload, uploadPart each part, complete, through the R2 binding. */
function plainUpload(SIZE: number, salt: number): Upload {
  const key = `plain/${salt}`;
  let upload: R2MultipartUpload;
  const parts: R2UploadedPart[] = [];
  return {
    async step(i) {
      if (i === 0) upload = await env.BLOBS.createMultipartUpload(key);
      else parts.push(await upload.uploadPart(i, part(SIZE, salt, i)));
    },
    async complete() {
      await upload.complete(parts);
    },
    async cleanup() {
      const head = await env.BLOBS.head(key);
      expect(head?.size).toBe(SIZE);
      await env.BLOBS.delete(key);
    },
  };
}

const SIDES = ['in order', 'verify at complete', 'plain'] as const;
type Side = (typeof SIDES)[number];

async function compare(SIZE: number, ROUNDS: number): Promise<void> {
  const PARTS = Math.ceil(SIZE / PART);
  const label = SIZE >= 1024 * MiB ? `${SIZE / 1024 / MiB} GiB` : `${SIZE / MiB} MiB`;
  const mbps = (ms: number) => Math.round((SIZE / 1e6 / (ms / 1000)) * 10) / 10;
  const samples = Object.fromEntries(SIDES.map((side) => [side, { ms: [] as number[], completeMs: [] as number[] }])) as Record<Side, { ms: number[]; completeMs: number[] }>;
  let salt = Date.now();
  for (let round = 0; round <= ROUNDS; round++) {
    // Untimed: the announced digests.
    const uploads = {} as Record<Side, Upload>;
    for (const side of SIDES) uploads[side] = side === 'plain' ? plainUpload(SIZE, ++salt) : hangarUpload(SIZE, ++salt, side, await sha256Of(SIZE, salt));
    const ms = Object.fromEntries(SIDES.map((side) => [side, 0])) as Record<Side, number>;
    const completeMs = { ...ms };
    // The sides' steps interleaved, the side going first rotating from step to step, so a change
    // in the machine's load falls on every side alike; a side's time is the sum of its steps.
    const rotated = (k: number) => SIDES.map((_, i) => SIDES[(i + k) % SIDES.length]!);
    for (let i = 0; i <= PARTS; i++) for (const side of rotated(i + round)) ms[side] += await timed(() => uploads[side].step(i));
    for (const side of rotated(round)) {
      completeMs[side] = await timed(() => uploads[side].complete());
      ms[side] += completeMs[side];
    }
    for (const side of SIDES) await uploads[side].cleanup();
    console.log(
      `upload ${label} round ${round}${round === 0 ? ' (warm-up)' : ''}: ${SIDES.map((side) => `${side} ${Math.round(ms[side])} ms (complete ${Math.round(completeMs[side])} ms)`).join(', ')}`,
    );
    if (round === 0) continue;
    for (const side of SIDES) {
      samples[side].ms.push(ms[side]);
      samples[side].completeMs.push(completeMs[side]);
    }
  }
  const split = (side: Side) => {
    const { ms, completeMs } = samples[side];
    return `${Math.round(median(completeMs))} ms in complete, ${Math.round(median(ms.map((x, i) => x - completeMs[i]!)))} ms in the parts`;
  };
  const common =
    `POST /namespaces/{ns}/blobs/uploads { sha256, size }, PUT …/uploads/{id}/parts/{n} for each of the ${PARTS} parts of ${PART / MiB} MiB, POST …/complete, via SELF.fetch with the admin token; ` +
    `baseline in the same run: the same bytes through the R2 binding: createMultipartUpload, uploadPart × ${PARTS}, complete; all in the same workerd on local R2, parts made on the fly as copies of one random 8 MiB buffer with distinct headers (fresh bytes every round); ` +
    `the three uploads of a round run interleaved step by step (the start, each part, then the completes), the side going first rotating from step to step, so a change in the shared machine's load falls on all of them alike; a side's time is the sum of its steps, each timed from its request to its answer; MB = 10^6 bytes; median of ${ROUNDS} rounds after a warm-up. Plain R2: ${split('plain')}.`;
  report({
    name: `Upload a ${label} artifact through the resumable upload API: throughput`,
    value: median(samples['in order'].ms.map(mbps)),
    unit: 'MB/s',
    baseline: median(samples.plain.ms.map(mbps)),
    goal: '≥ 0.8',
    note:
      `Hangar as shipped, parts in order: the Worker hashes each part as it arrives, while R2 takes it (${
        SIZE <= HELD_MAX_BYTES
          ? `an upload of up to ${HELD_MAX_BYTES / 1024 / MiB} GiB: the runtime's native SHA-256 (node:crypto), its hasher kept in the isolate from one part to the next and named in D1`
          : `an upload over ${HELD_MAX_BYTES / 1024 / MiB} GiB: hash-wasm's SHA-256 compiled to WebAssembly, its context carried from part to part through D1`
      }), each part recorded with one D1 batch once R2 holds it (no read of the upload's row first: the isolate kept it from the part before), so complete checks the digest without reading the object: ${split('in order')}. ` +
      common,
    samples: samples['in order'].ms.map(mbps),
    baselineSamples: samples.plain.ms.map(mbps),
  });
  report({
    name: `Upload a ${label} artifact, verified at complete with crypto.DigestStream (the alternative): throughput`,
    value: median(samples['verify at complete'].ms.map(mbps)),
    unit: 'MB/s',
    baseline: median(samples.plain.ms.map(mbps)),
    goal: null,
    note:
      `The same API with part 1 sent last, so no running digest forms and complete reads the stored object once through the runtime's native crypto.DigestStream (only part 1 is hashed as it arrives): ${split('verify at complete')}. ` +
      common,
    samples: samples['verify at complete'].ms.map(mbps),
    baselineSamples: samples.plain.ms.map(mbps),
  });
}

it('uploads a 256 MiB artifact through the upload API, hashed in order or verified at complete, vs plain R2 multipart', () => compare(256 * MiB, 3));

it('uploads a 2 GiB artifact through the upload API, hashed in order or verified at complete, vs plain R2 multipart', () => compare(2048 * MiB, 1), 1_200_000);
