import { createExecutionContext, env, waitOnExecutionContext } from 'cloudflare:test';
import { app } from '../../../worker/app.ts';
import { sha256Hex } from '../../../shared/ids.ts';
import { realIds } from './requests.ts';

/** The admin token test/workerd/pool.ts binds. */
export const ADMIN = 'hgr_test_admin_token';
export const NS = 'sweep';

/** Real values for each path parameter, so that a request with only some of them malformed reaches deep. */
export interface Fixtures {
  params: Record<string, string>;
  tokens: { write: string; read: string; other: string };
}

async function call(method: string, path: string, body?: unknown, raw?: BodyInit): Promise<{ status: number; body: any }> {
  const headers: Record<string, string> = { authorization: `Bearer ${ADMIN}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  // A Request made here (not sent over HTTP) carries no Content-Length of its own.
  if (raw instanceof Uint8Array) headers['content-length'] = String(raw.byteLength);
  // The Worker's own handler, as the sweep's requests: SELF.fetch grows slower with every call
  // a test makes (over a second per call after a few thousand), which made long sweeps crawl.
  const ctx = createExecutionContext();
  const res = await app.fetch(new Request(`https://hangar.test/api/v1${path}`, { method, headers, body: body !== undefined ? JSON.stringify(body) : raw }), env, ctx);
  const text = await res.text();
  await waitOnExecutionContext(ctx);
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // Not JSON: keep the text.
  }
  return { status: res.status, body: parsed };
}

async function must(method: string, path: string, body?: unknown, raw?: BodyInit): Promise<any> {
  const r = await call(method, path, body, raw);
  if (r.status >= 300) throw new Error(`fixture ${method} ${path} answered ${r.status}: ${JSON.stringify(r.body)}`);
  return r.body;
}

let tokens: Fixtures['tokens'] | undefined;
let tokenId = '';
const blob = new TextEncoder().encode('sweep fixture bytes');

/**
 * Makes sure the namespace holds a model with a version, a metric, a metadata key, an alias,
 * an artifact with its blob, a checkpoint and an open upload (a request the sweep sent may
 * have deleted any of them), and answers the values to put in paths.
 */
export async function ensureFixtures(): Promise<Fixtures> {
  if (!tokens) {
    const make = async (namespace: string, role: string) => (await must('POST', '/tokens', { namespace, role, name: `sweep ${role}` })) as { token: string; id: string };
    const write = await make(NS, 'write');
    tokens = { write: write.token, read: (await make(NS, 'read')).token, other: (await make('elsewhere', 'write')).token };
    tokenId = (await make(NS, 'read')).id;
  }
  const m = `/namespaces/${NS}/models/m`;
  if ((await call('GET', m)).status === 404) await must('POST', `/namespaces/${NS}/models`, { name: 'm', task: 'tabular' });
  let versions = (await must('GET', `${m}/versions`)).items as { number: number }[];
  if (!versions.length) versions = [await must('POST', `${m}/versions`, { version: 'gold' })];
  const number = String(versions[0]!.number);
  const v = `${m}/versions/${number}`;
  const sha = await sha256Hex(blob);
  await must('PUT', `/namespaces/${NS}/blobs/sha256/${sha}`, undefined, blob);
  await must('POST', `${v}/metrics`, { metrics: [{ key: 'loss', value: 0.5, step: 1 }] });
  await must('PUT', `${v}/metadata/k`, 1);
  await must('PUT', `${m}/metadata/k`, 1);
  await must('PUT', `${m}/aliases/prod`, { version: Number(number) });
  if ((await call('GET', `${v}/artifacts/a.bin`)).status !== 200) await must('POST', `${v}/artifacts`, { path: 'a.bin', size: blob.byteLength, sha256: sha });
  if ((await call('GET', `${m}/artifacts/a.bin`)).status !== 200) await must('POST', `${m}/artifacts`, { path: 'a.bin', size: blob.byteLength, sha256: sha });
  if ((await call('GET', `${v}/checkpoints/epoch_1`)).status !== 200) await must('PUT', `${v}/checkpoints/epoch_1`, { files: [{ path: 'a.bin', size: blob.byteLength, sha256: sha }] });
  const model = await must('GET', m);
  realIds.splice(0, realIds.length, model.id, (await must('GET', v)).id, crypto.randomUUID());
  const upload = await must('POST', `/namespaces/${NS}/blobs/uploads`, { sha256: 'ab'.repeat(32), size: 20 * 1024 * 1024 });
  return {
    params: { ns: NS, model: 'm', number, alias: 'prod', key: 'loss', path: 'a.bin', handle: 'epoch_1', id: upload.uploadId ?? '', tokenId, hex: sha, n: '1' },
    tokens,
  };
}
