import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { LIMITS } from '../../shared/limits.ts';
import { call } from './api.ts';
import { sha256Hex } from './blob-helpers.ts';
import { ml, type MlReply } from './mlflow-client.ts';

// MLflow's proxied multipart artifact uploads (mlflow_artifacts.proto: mpu/create, mpu/complete,
// mpu/abort), driven as the MLflow client drives them with MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD
// (http_artifact_repo.py): the URL names the run's artifact directory, the body the local file
// (its base name becomes the file's name); parts go with no token to the URLs create hands out,
// their ETag headers come back in complete.

const NS = 'mlf-mpu';
const A = 'mlflow-artifacts';
const MiB = 1024 * 1024;

function expectMlError(r: MlReply, status: number, code: string) {
  expect({ status: r.status, code: r.body?.error_code }).toEqual({ status, code });
}

async function runRoot(name: string, ns = NS): Promise<string> {
  const exp = await ml(ns, 'POST', 'mlflow/experiments/create', { body: { name } });
  const run = await ml(ns, 'POST', 'mlflow/runs/create', { body: { experiment_id: exp.body.experiment_id, start_time: 1_700_000_000_000 } });
  return `${exp.body.experiment_id}/${run.body.run.info.run_id}/artifacts`;
}

/** Bytes of a file split as the client splits it: parts of `chunk` bytes, the last one shorter. */
function file(size: number, seed: number): Uint8Array {
  return new Uint8Array(size).map((_, i) => (i * seed + (i >> 13)) % 251);
}

/** Sends every part to its URL with no token, as the client does; answers the parts for complete. */
async function sendParts(credentials: { url: string; part_number: number; headers: Record<string, string> }[], bytes: Uint8Array, chunk: number, ns = NS) {
  const parts: { part_number: number; etag: string }[] = [];
  for (const c of credentials) {
    const url = new URL(c.url);
    expect(url.pathname.startsWith(`/mlflow/${ns}/api/2.0/`)).toBe(true);
    const part = bytes.subarray((c.part_number - 1) * chunk, c.part_number * chunk);
    const r = await ml(ns, 'PUT', url.pathname.slice(`/mlflow/${ns}/api/2.0/`.length), { raw: part, token: null, headers: c.headers });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    parts.push({ part_number: c.part_number, etag: r.headers.get('etag') ?? '' });
  }
  return parts;
}

const mpuObjects = async (ns = NS) => (await env.BLOBS.list({ prefix: `mlflow-mpu/${ns}/` })).objects.map((o) => o.key);

describe('MLflow multipart artifact uploads', () => {
  it('create, parts with no token, complete: the file is the run\'s artifact, downloadable, listed, stored once by digest', async () => {
    const root = await runRoot('mpu-exp');
    const chunk = 5 * MiB;
    const bytes = file(2 * chunk + 12_345, 7);
    const created = await ml(NS, 'POST', `${A}/mpu/create/${root}/model`, { body: { path: '/home/ada/out/model.onnx', num_parts: 3 } });
    expect(created.status, JSON.stringify(created.body)).toBe(200);
    expect(typeof created.body.upload_id).toBe('string');
    expect(created.body.credentials.map((c: { part_number: number }) => c.part_number)).toEqual([1, 2, 3]);
    const parts = await sendParts(created.body.credentials, bytes, chunk);
    expect(parts.every((p) => p.etag.length > 2)).toBe(true);
    const done = await ml(NS, 'POST', `${A}/mpu/complete/${root}/model`, { body: { path: '/home/ada/out/model.onnx', upload_id: created.body.upload_id, parts } });
    expect(done.status, JSON.stringify(done.body)).toBe(200);
    expect(done.body).toEqual({});

    const got = await ml(NS, 'GET', `${A}/artifacts/${root}/model/model.onnx`);
    expect(got.status).toBe(200);
    expect(await sha256Hex(got.body as Uint8Array)).toBe(await sha256Hex(bytes));
    expect((await ml(NS, 'GET', `${A}/artifacts`, { body: { path: `${root}/model` } })).body.files).toEqual([{ path: 'model.onnx', is_dir: false, file_size: bytes.byteLength }]);
    const arts = (await call('GET', `/namespaces/${NS}/models/mpu-exp/versions/1/artifacts`)).body.items;
    expect(arts).toMatchObject([{ path: 'model/model.onnx', size: bytes.byteLength, sha256: await sha256Hex(bytes) }]);

    // The same bytes again (a Windows path, at the run's root): one stored copy, two artifacts.
    const again = await ml(NS, 'POST', `${A}/mpu/create/${root}`, { body: { path: 'C:\\out\\copy.onnx', num_parts: 3 } });
    const againParts = await sendParts(again.body.credentials, bytes, chunk);
    expect((await ml(NS, 'POST', `${A}/mpu/complete/${root}`, { body: { path: 'C:\\out\\copy.onnx', upload_id: again.body.upload_id, parts: againParts } })).status).toBe(200);
    expect((await call('GET', `/namespaces/${NS}/models/mpu-exp/versions/1/artifacts`)).body.items.map((a: { path: string }) => a.path).sort()).toEqual(['copy.onnx', 'model/model.onnx']);
    expect(await mpuObjects()).toHaveLength(1);
  });

  it('abort drops the parts; bad ids, other namespaces, wrong etags, bad part numbers and sizes are refused and store nothing', async () => {
    const root = await runRoot('mpu-bad');
    const before = await mpuObjects();
    const chunk = 5 * MiB;
    const bytes = file(chunk + 100, 3);
    const created = await ml(NS, 'POST', `${A}/mpu/create/${root}`, { body: { path: 'w.bin', num_parts: 2 } });
    const parts = await sendParts(created.body.credentials, bytes, chunk);

    // complete with an etag R2 did not give: refused, nothing registered; the upload can still complete.
    const wrong = await ml(NS, 'POST', `${A}/mpu/complete/${root}`, { body: { path: 'w.bin', upload_id: created.body.upload_id, parts: [parts[0], { part_number: 2, etag: '"nope"' }] } });
    expectMlError(wrong, 400, 'INVALID_PARAMETER_VALUE');
    expect((await call('GET', `/namespaces/${NS}/models/mpu-bad/versions/1/artifacts`)).body.items).toEqual([]);

    expect((await ml(NS, 'POST', `${A}/mpu/abort/${root}`, { body: { path: 'w.bin', upload_id: created.body.upload_id } })).status).toBe(200);
    const partPath = new URL(created.body.credentials[0].url).pathname.slice(`/mlflow/${NS}/api/2.0/`.length);
    expectMlError(await ml(NS, 'PUT', partPath, { raw: bytes.subarray(0, 10), token: null }), 404, 'RESOURCE_DOES_NOT_EXIST');
    expectMlError(await ml(NS, 'POST', `${A}/mpu/complete/${root}`, { body: { path: 'w.bin', upload_id: created.body.upload_id, parts } }), 404, 'RESOURCE_DOES_NOT_EXIST');

    // Forged or foreign upload ids reach nothing.
    const forged = btoa(JSON.stringify({ k: 'sha256/abc', u: 'x' })).replace(/=+$/, '');
    expectMlError(await ml(NS, 'PUT', `${A}/mpu/part/${forged}/1`, { raw: bytes.subarray(0, 10), token: null }), 404, 'RESOURCE_DOES_NOT_EXIST');
    expectMlError(await ml(NS, 'PUT', `${A}/mpu/part/not-base64!/1`, { raw: bytes.subarray(0, 10), token: null }), 404, 'RESOURCE_DOES_NOT_EXIST');
    const other = await ml(NS, 'POST', `${A}/mpu/create/${root}`, { body: { path: 'o.bin', num_parts: 1 } });
    const otherPath = new URL(other.body.credentials[0].url).pathname.slice(`/mlflow/${NS}/api/2.0/`.length);
    expectMlError(await ml('mlf-elsewhere', 'PUT', otherPath, { raw: bytes.subarray(0, 10), token: null }), 404, 'RESOURCE_DOES_NOT_EXIST');

    // Bad input to create, and parts out of range or over the size limit.
    expectMlError(await ml(NS, 'POST', `${A}/mpu/create/${root}`, { body: { path: 'w.bin', num_parts: 0 } }), 400, 'INVALID_PARAMETER_VALUE');
    expectMlError(await ml(NS, 'POST', `${A}/mpu/create/${root}`, { body: { path: 'w.bin', num_parts: 10_001 } }), 400, 'INVALID_PARAMETER_VALUE');
    expectMlError(await ml(NS, 'POST', `${A}/mpu/create/${root}`, { body: { path: '/tmp/', num_parts: 1 } }), 400, 'INVALID_PARAMETER_VALUE');
    expectMlError(await ml(NS, 'POST', `${A}/mpu/create/${root}/a%2F..%2F..%2Fx`, { body: { path: 'w.bin', num_parts: 1 } }), 400, 'INVALID_PARAMETER_VALUE');
    expectMlError(await ml(NS, 'PUT', otherPath.replace(/\/1$/, '/0'), { raw: bytes.subarray(0, 10), token: null }), 400, 'INVALID_PARAMETER_VALUE');
    expectMlError(await ml(NS, 'PUT', otherPath, { raw: new Uint8Array(LIMITS.mlflowPartBytes + 1), token: null }), 400, 'INVALID_PARAMETER_VALUE');
    expectMlError(await ml(NS, 'POST', `${A}/mpu/create/${root}`, { body: { path: 'w.bin', num_parts: 1 }, token: null }), 401, 'UNAUTHENTICATED');
    expect(await mpuObjects()).toEqual(before);
  });

  it('a file past the namespace\'s blob quota is refused at complete, and its bytes go', async () => {
    const Q = 'mlf-mpu-quota';
    const root = await runRoot('mpu-quota', Q);
    expect((await call('PUT', `/namespaces/${Q}/usage`, { body: { blobBytes: 1024 } })).status).toBe(200);
    try {
      const bytes = file(6 * MiB, 5);
      const created = await ml(Q, 'POST', `${A}/mpu/create/${root}`, { body: { path: 'big.bin', num_parts: 2 } });
      const parts = await sendParts(created.body.credentials, bytes, 5 * MiB, Q);
      const before = await mpuObjects(Q);
      const refused = await ml(Q, 'POST', `${A}/mpu/complete/${root}`, { body: { path: 'big.bin', upload_id: created.body.upload_id, parts } });
      expectMlError(refused, 403, 'PERMISSION_DENIED');
      expect(refused.headers.get('x-hangar-error')).toBe('quota-exceeded');
      expect((await call('GET', `/namespaces/${Q}/models/mpu-quota/versions/1/artifacts`)).body.items).toEqual([]);
      expect(await mpuObjects(Q)).toEqual(before);
    } finally {
      await call('PUT', `/namespaces/${Q}/usage`, { body: { blobBytes: null } });
    }
  });
});
