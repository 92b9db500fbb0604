import { describe, expect, it } from 'vitest';
import { LIMITS } from '../../shared/limits.ts';
import { call, tokenFor } from './api.ts';
import { putBlob, sha256Hex } from './blob-helpers.ts';
import { ml, type MlReply } from './mlflow-client.ts';

// MLflow's REST API (its service.proto, model_registry.proto, mlflow_artifacts.proto and REST
// reference) under /mlflow/{ns}/api/2.0. The shapes asserted here are MLflow's.

const NS = 'mlf';
const T = 'mlflow';
const A = 'mlflow-artifacts';

function expectMlError(r: MlReply, status: number, code: string) {
  expect({ status: r.status, code: r.body?.error_code }).toEqual({ status, code });
  expect(typeof r.body.message).toBe('string');
}

async function experiment(name: string): Promise<string> {
  const r = await ml(NS, 'POST', `${T}/experiments/create`, { body: { name } });
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return r.body.experiment_id as string;
}

async function startRun(experimentId: string, extra: Record<string, unknown> = {}) {
  const r = await ml(NS, 'POST', `${T}/runs/create`, { body: { experiment_id: experimentId, start_time: 1_700_000_000_000, tags: [{ key: 'mlflow.user', value: 'ada' }], ...extra } });
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return r.body.run as { info: Record<string, any>; data: Record<string, any> };
}

describe('MLflow auth', () => {
  it('takes a Hangar token as Bearer or as the Basic password, and answers MLflow codes otherwise', async () => {
    const id = await experiment('auth-exp');
    const get = (headers: Record<string, string>, ns = NS) => ml(ns, 'GET', `${T}/experiments/get`, { body: { experiment_id: id }, token: null, headers });
    const write = await tokenFor(NS, 'write');
    expect((await get({ authorization: `Bearer ${write}` })).status).toBe(200);
    expect((await get({ authorization: `Basic ${btoa(`anyone:${write}`)}` })).status).toBe(200);
    expectMlError(await get({}), 401, 'UNAUTHENTICATED');
    expectMlError(await get({ authorization: 'Basic bm9wZTpub3Bl' }), 401, 'UNAUTHENTICATED');
    const read = await tokenFor(NS, 'read');
    expectMlError(await ml(NS, 'POST', `${T}/experiments/create`, { body: { name: 'nope' }, token: read }), 403, 'PERMISSION_DENIED');
    const other = await tokenFor('mlf-other', 'admin');
    expectMlError(await get({ authorization: `Bearer ${other}` }), 404, 'RESOURCE_DOES_NOT_EXIST');
    expectMlError(await ml(NS, 'GET', `${T}/no/such/endpoint`), 404, 'ENDPOINT_NOT_FOUND');
  });
});

describe('MLflow experiments', () => {
  it('creates, reads, finds, tags and searches experiments as Experiment messages', async () => {
    const id = await experiment('exp-one');
    const got = await ml(NS, 'GET', `${T}/experiments/get`, { body: { experiment_id: id } });
    expect(got.body.experiment).toMatchObject({ experiment_id: id, name: 'exp-one', artifact_location: `mlflow-artifacts:/${id}`, lifecycle_stage: 'active', tags: [] });
    expect(typeof got.body.experiment.creation_time).toBe('number');
    expect(typeof got.body.experiment.last_update_time).toBe('number');
    expect((await ml(NS, 'GET', `${T}/experiments/get-by-name`, { body: { experiment_name: 'exp-one' } })).body.experiment.experiment_id).toBe(id);
    expect((await ml(NS, 'POST', `${T}/experiments/set-experiment-tag`, { body: { experiment_id: id, key: 'team', value: 'growth' } })).body).toEqual({});
    const search = await ml(NS, 'POST', `${T}/experiments/search`, { body: { filter: "tags.team = 'growth'", max_results: 10 } });
    expect(search.body.experiments.map((e: { name: string }) => e.name)).toEqual(['exp-one']);
    expect(search.body.experiments[0].tags).toEqual([{ key: 'team', value: 'growth' }]);
    // Experiments are models of kind `experiment`, listed apart from registered models.
    expect((await call('GET', `/namespaces/${NS}/models/exp-one`)).body.kind).toBe('experiment');
    expect((await ml(NS, 'GET', `${T}/registered-models/search`, { body: { filter: "name = 'exp-one'" } })).body.registered_models).toEqual([]);
  });

  it('answers bad input with MLflow codes and changes nothing', async () => {
    await experiment('exp-dup');
    expectMlError(await ml(NS, 'POST', `${T}/experiments/create`, { body: { name: 'exp-dup' } }), 400, 'RESOURCE_ALREADY_EXISTS');
    expectMlError(await ml(NS, 'POST', `${T}/experiments/create`, { body: { name: '/Users/x/my exp' } }), 400, 'INVALID_PARAMETER_VALUE');
    expectMlError(await ml(NS, 'POST', `${T}/experiments/create`, { body: {} }), 400, 'INVALID_PARAMETER_VALUE');
    expectMlError(await ml(NS, 'GET', `${T}/experiments/get`, { body: { experiment_id: '12345' } }), 404, 'RESOURCE_DOES_NOT_EXIST');
    expectMlError(await ml(NS, 'GET', `${T}/experiments/get-by-name`, { body: { experiment_name: 'never' } }), 404, 'RESOURCE_DOES_NOT_EXIST');
    expectMlError(await ml(NS, 'POST', `${T}/experiments/search`, { body: { filter: 'name ==== 1' } }), 400, 'INVALID_PARAMETER_VALUE');
    const bad = await ml(NS, 'POST', `${T}/experiments/create`, { raw: new TextEncoder().encode('{"name":'), headers: { 'content-type': 'application/json' } });
    expect(bad.status).toBe(400);
  });

  it('deletes an experiment: it reads as deleted and takes no runs', async () => {
    const id = await experiment('exp-gone');
    expect((await ml(NS, 'POST', `${T}/experiments/delete`, { body: { experiment_id: id } })).status).toBe(200);
    expect((await ml(NS, 'GET', `${T}/experiments/get`, { body: { experiment_id: id } })).body.experiment.lifecycle_stage).toBe('deleted');
    expectMlError(await ml(NS, 'POST', `${T}/runs/create`, { body: { experiment_id: id } }), 404, 'RESOURCE_DOES_NOT_EXIST');
  });

  it('restores a deleted experiment and a deleted run from the trash', async () => {
    const id = await experiment('exp-back');
    const kept = (await startRun(id)).info.run_id as string;
    const dropped = (await startRun(id)).info.run_id as string;
    const post = (path: string, body: Record<string, unknown>) => ml(NS, 'POST', `${T}/${path}`, { body });
    expect((await post('runs/delete', { run_id: dropped })).status).toBe(200);
    expect((await post('experiments/delete', { experiment_id: id })).status).toBe(200);
    expectMlError(await post('runs/restore', { run_id: dropped }), 404, 'RESOURCE_DOES_NOT_EXIST');
    expect((await post('experiments/restore', { experiment_id: id })).status).toBe(200);
    expect((await ml(NS, 'GET', `${T}/experiments/get`, { body: { experiment_id: id } })).body.experiment.lifecycle_stage).toBe('active');
    // The run its delete took is back; the one deleted before stays deleted until restored itself.
    expect((await ml(NS, 'GET', `${T}/runs/get`, { body: { run_id: kept } })).status).toBe(200);
    expectMlError(await ml(NS, 'GET', `${T}/runs/get`, { body: { run_id: dropped } }), 404, 'RESOURCE_DOES_NOT_EXIST');
    expect((await post('runs/restore', { run_id: dropped })).status).toBe(200);
    expect((await ml(NS, 'GET', `${T}/runs/get`, { body: { run_id: dropped } })).body.run.info.lifecycle_stage).toBe('active');
    expectMlError(await post('runs/restore', { run_id: dropped }), 404, 'RESOURCE_DOES_NOT_EXIST');
    expectMlError(await post('experiments/restore', { experiment_id: id }), 404, 'RESOURCE_DOES_NOT_EXIST');
  });
});

describe('MLflow runs', () => {
  it('creates a run as a pending version and logs metrics, params and tags into it', async () => {
    const id = await experiment('exp-runs');
    const run = await startRun(id, { run_name: 'bold-moth-1' });
    const runId = run.info.run_id as string;
    expect(run.info).toMatchObject({
      run_id: runId,
      run_uuid: runId,
      run_name: 'bold-moth-1',
      experiment_id: id,
      status: 'RUNNING',
      start_time: 1_700_000_000_000,
      artifact_uri: `mlflow-artifacts:/${id}/${runId}/artifacts`,
      lifecycle_stage: 'active',
    });
    expect(run.data.tags).toEqual(expect.arrayContaining([{ key: 'mlflow.user', value: 'ada' }]));

    const ok = async (path: string, body: Record<string, unknown>) => {
      const r = await ml(NS, 'POST', `${T}/${path}`, { body: { run_id: runId, ...body } });
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      expect(r.body).toEqual({});
    };
    await ok('runs/log-metric', { key: 'loss', value: 0.9, timestamp: 1_700_000_000_100, step: 0 });
    await ok('runs/log-metric', { key: 'loss', value: 0.5, timestamp: 1_700_000_000_200, step: 1 });
    await ok('runs/log-parameter', { key: 'lr', value: '0.01' });
    await ok('runs/log-parameter', { key: 'lr', value: '0.01' });
    await ok('runs/set-tag', { key: 'team', value: 'growth' });
    await ok('runs/log-batch', {
      metrics: [{ key: 'acc', value: 0.8, timestamp: 1_700_000_000_300, step: 1 }],
      params: [{ key: 'epochs', value: '10' }],
      tags: [{ key: 'gone', value: 'x' }],
    });
    await ok('runs/delete-tag', { key: 'gone' });

    const got = (await ml(NS, 'GET', `${T}/runs/get`, { body: { run_id: runId } })).body.run;
    expect(got.data.params).toEqual([{ key: 'epochs', value: '10' }, { key: 'lr', value: '0.01' }]);
    expect(got.data.metrics).toEqual(
      expect.arrayContaining([expect.objectContaining({ key: 'loss', value: 0.5, step: 1 }), expect.objectContaining({ key: 'acc', value: 0.8, step: 1 })]),
    );
    expect(got.data.tags).toEqual(expect.arrayContaining([{ key: 'team', value: 'growth' }]));
    expect(got.data.tags.map((t: { key: string }) => t.key)).not.toContain('gone');
    expect(got.data.tags.map((t: { key: string }) => t.key).filter((k: string) => k.startsWith('hangar.'))).toEqual([]);

    const history = await ml(NS, 'GET', `${T}/metrics/get-history`, { body: { run_id: runId, metric_key: 'loss' } });
    expect(history.body).toEqual({
      metrics: [
        { key: 'loss', value: 0.9, timestamp: 1_700_000_000_100, step: 0 },
        { key: 'loss', value: 0.5, timestamp: 1_700_000_000_200, step: 1 },
      ],
    });

    // The same run in Hangar's own API: a pending version with params.
    const versions = (await call('GET', `/namespaces/${NS}/models/exp-runs/versions`)).body.items;
    expect(versions).toHaveLength(1);
    expect(versions[0]).toMatchObject({ id: runId, status: 'pending', name: 'bold-moth-1' });
    expect((await call('GET', `/namespaces/${NS}/models/exp-runs/versions/1/params`)).body.params).toEqual({ epochs: '10', lr: '0.01' });

    const updated = await ml(NS, 'POST', `${T}/runs/update`, { body: { run_id: runId, status: 'FINISHED', end_time: 1_700_000_001_000 } });
    expect(updated.body.run_info).toMatchObject({ run_id: runId, status: 'FINISHED', end_time: 1_700_000_001_000 });
    expect((await call('GET', `/namespaces/${NS}/models/exp-runs/versions/1`)).body.status).toBe('ready');
  });

  it('keeps a killed run failed and says it was killed', async () => {
    const id = await experiment('exp-killed');
    const run = await startRun(id);
    const r = await ml(NS, 'POST', `${T}/runs/update`, { body: { run_id: run.info.run_id, status: 'KILLED', end_time: 5 } });
    expect(r.body.run_info.status).toBe('KILLED');
    expect((await ml(NS, 'GET', `${T}/runs/get`, { body: { run_id: run.info.run_id } })).body.run.info.status).toBe('KILLED');
    expect((await call('GET', `/namespaces/${NS}/models/exp-killed/versions/1`)).body.status).toBe('failed');
    const failed = await startRun(id);
    expect((await ml(NS, 'POST', `${T}/runs/update`, { body: { run_id: failed.info.run_id, status: 'FAILED' } })).body.run_info.status).toBe('FAILED');
  });

  it('refuses bad input per endpoint with MLflow codes, and writes nothing', async () => {
    const id = await experiment('exp-bad');
    const run = await startRun(id);
    const runId = run.info.run_id as string;
    await ml(NS, 'POST', `${T}/runs/log-parameter`, { body: { run_id: runId, key: 'lr', value: '0.1' } });
    const post = (path: string, body: Record<string, unknown>) => ml(NS, 'POST', `${T}/${path}`, { body });

    expectMlError(await post('runs/log-parameter', { run_id: runId, key: 'lr', value: '0.2' }), 400, 'INVALID_PARAMETER_VALUE');
    // A batch with a changed param is refused whole: its metric and tag are not written either.
    expectMlError(
      await post('runs/log-batch', { run_id: runId, params: [{ key: 'lr', value: '0.3' }], metrics: [{ key: 'm', value: 1, timestamp: 1 }], tags: [{ key: 't', value: 'v' }] }),
      400,
      'INVALID_PARAMETER_VALUE',
    );
    const metrics = Array.from({ length: LIMITS.mlflowBatchMetrics + 1 }, (_, i) => ({ key: 'm', value: i, timestamp: i, step: i }));
    expectMlError(await post('runs/log-batch', { run_id: runId, metrics }), 400, 'INVALID_PARAMETER_VALUE');
    const params = Array.from({ length: LIMITS.mlflowBatchParamsAndTags + 1 }, (_, i) => ({ key: `p${i}`, value: '1' }));
    expectMlError(await post('runs/log-batch', { run_id: runId, params }), 400, 'INVALID_PARAMETER_VALUE');
    expectMlError(await post('runs/log-parameter', { run_id: runId, key: 'big', value: 'x'.repeat(LIMITS.paramValueBytes + 1) }), 400, 'INVALID_PARAMETER_VALUE');
    expectMlError(await post('runs/log-metric', { run_id: runId, key: 'm', value: 'nan?', timestamp: 1 }), 400, 'INVALID_PARAMETER_VALUE');
    expectMlError(await post('runs/log-metric', { run_id: runId, key: 'm', value: 1, timestamp: 1, step: -1 }), 400, 'INVALID_PARAMETER_VALUE');
    expectMlError(await post('runs/log-metric', { run_id: runId, key: 'm', value: 1 }), 400, 'INVALID_PARAMETER_VALUE');
    expectMlError(await post('runs/update', { run_id: runId, status: 'DONE' }), 400, 'INVALID_PARAMETER_VALUE');
    expectMlError(await post('runs/delete-tag', { run_id: runId, key: 'never-set' }), 400, 'INVALID_PARAMETER_VALUE');
    for (const unknown of ['0123456789abcdef0123456789abcdef', '018f0000-0000-7000-8000-000000000000', '../x']) {
      expectMlError(await post('runs/log-metric', { run_id: unknown, key: 'm', value: 1, timestamp: 1 }), 404, 'RESOURCE_DOES_NOT_EXIST');
      expectMlError(await ml(NS, 'GET', `${T}/runs/get`, { body: { run_id: unknown } }), 404, 'RESOURCE_DOES_NOT_EXIST');
    }
    // Another namespace's run is not to be seen.
    const otherExp = await ml('mlf-other', 'POST', `${T}/experiments/create`, { body: { name: 'theirs' } });
    const theirs = await ml('mlf-other', 'POST', `${T}/runs/create`, { body: { experiment_id: otherExp.body.experiment_id } });
    expectMlError(await ml(NS, 'GET', `${T}/runs/get`, { body: { run_id: theirs.body.run.info.run_id } }), 404, 'RESOURCE_DOES_NOT_EXIST');
    expectMlError(await post('runs/set-tag', { run_id: theirs.body.run.info.run_id, key: 'a', value: 'b' }), 404, 'RESOURCE_DOES_NOT_EXIST');

    const after = (await ml(NS, 'GET', `${T}/runs/get`, { body: { run_id: runId } })).body.run;
    expect(after.data.params).toEqual([{ key: 'lr', value: '0.1' }]);
    expect(after.data.metrics).toEqual([]);
    expect(after.data.tags.map((t: { key: string }) => t.key)).not.toContain('t');
    expect(after.info.status).toBe('RUNNING');
  });

  it('takes NaN and infinite values as MLflow sends them: not stored as points, counted in the run\'s hangar.nonfinite_metrics tag', async () => {
    const id = await experiment('exp-nan');
    const runId = (await startRun(id)).info.run_id as string;
    const post = (path: string, body: Record<string, unknown>) => ml(NS, 'POST', `${T}/${path}`, { body });
    expect((await post('runs/log-metric', { run_id: runId, key: 'loss', value: 0.5, timestamp: 1, step: 1 })).status).toBe(200);
    expect((await post('runs/log-metric', { run_id: runId, key: 'loss', value: 'NaN', timestamp: 2, step: 2 })).status).toBe(200);
    const batch = [
      { key: 'loss', value: 'Infinity', timestamp: 3, step: 3 },
      { key: 'grad', value: '-Infinity', timestamp: 3, step: 3 },
      { key: 'acc', value: 0.9, timestamp: 3, step: 3 },
    ];
    expect((await post('runs/log-batch', { run_id: runId, metrics: batch })).status).toBe(200);
    const history = await ml(NS, 'GET', `${T}/metrics/get-history`, { body: { run_id: runId, metric_key: 'loss' } });
    expect(history.body.metrics.map((m: { value: number; step: number }) => [m.step, m.value])).toEqual([[1, 0.5]]);
    const run = (await ml(NS, 'GET', `${T}/runs/get`, { body: { run_id: runId } })).body.run;
    expect(run.data.metrics.map((m: { key: string }) => m.key).sort()).toEqual(['acc', 'loss']);
    const tag = run.data.tags.find((t: { key: string }) => t.key === 'hangar.nonfinite_metrics');
    expect(JSON.parse(tag.value)).toEqual({
      loss: { count: 2, lastStep: 3, lastValue: 'Infinity' },
      grad: { count: 1, lastStep: 3, lastValue: '-Infinity' },
    });
  });

  it('uses the Default experiment "0" when the client names none', async () => {
    const r = await ml(NS, 'POST', `${T}/runs/create`, { body: {} });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.run.info.experiment_id).toBe('0');
    expect((await ml(NS, 'GET', `${T}/experiments/get`, { body: { experiment_id: '0' } })).body.experiment).toMatchObject({ experiment_id: '0', name: 'Default' });
  });
});

describe('MLflow runs/search', () => {
  it('filters by params, metrics, tags and attributes.status, orders and pages', async () => {
    const id = await experiment('exp-search');
    const runs: string[] = [];
    for (const [lr, acc, team] of [['0.1', 0.7, 'a'], ['0.01', 0.9, 'b'], ['0.001', 0.8, 'a']] as const) {
      const run = await startRun(id);
      runs.push(run.info.run_id);
      await ml(NS, 'POST', `${T}/runs/log-batch`, {
        body: { run_id: run.info.run_id, params: [{ key: 'lr', value: lr }], tags: [{ key: 'team', value: team }], metrics: [{ key: 'acc', value: acc, timestamp: 1, step: 0 }] },
      });
    }
    await ml(NS, 'POST', `${T}/runs/update`, { body: { run_id: runs[1], status: 'FINISHED' } });
    const search = async (body: Record<string, unknown>) => {
      const r = await ml(NS, 'POST', `${T}/runs/search`, { body: { experiment_ids: [id], ...body } });
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      return r.body as { runs: { info: { run_id: string } }[]; next_page_token?: string };
    };
    const ids = (r: { runs: { info: { run_id: string } }[] }) => r.runs.map((x) => runs.indexOf(x.info.run_id));
    expect(ids(await search({ filter: 'params.lr < 0.05', order_by: ['metrics.acc DESC'] }))).toEqual([1, 2]);
    expect(ids(await search({ filter: "tags.team = 'a' and metrics.acc > 0.75" }))).toEqual([2]);
    expect(ids(await search({ filter: "attributes.status = 'FINISHED'" }))).toEqual([1]);
    expect(ids(await search({ filter: "attribute.status != 'FINISHED'", order_by: ['params.lr ASC'] }))).toEqual([2, 0]);
    expect(ids(await search({ order_by: ['metrics.acc ASC'] }))).toEqual([0, 2, 1]);
    const first = await search({ order_by: ['metrics.acc DESC'], max_results: 2 });
    expect(ids(first)).toEqual([1, 2]);
    expect(typeof first.next_page_token).toBe('string');
    const second = await search({ order_by: ['metrics.acc DESC'], max_results: 2, page_token: first.next_page_token });
    expect(ids(second)).toEqual([0]);
    expect(second.next_page_token).toBeUndefined();
    expectMlError(await ml(NS, 'POST', `${T}/runs/search`, { body: { experiment_ids: [id], filter: 'params.lr <' } }), 400, 'INVALID_PARAMETER_VALUE');
    expectMlError(await ml(NS, 'POST', `${T}/runs/search`, { body: { experiment_ids: [id], order_by: ['bogus.x'] } }), 400, 'INVALID_PARAMETER_VALUE');
    expectMlError(await ml(NS, 'POST', `${T}/runs/search`, { body: { experiment_ids: [id], page_token: 'nope' } }), 400, 'INVALID_PARAMETER_VALUE');
  });
});

describe('MLflow artifacts', () => {
  it('uploads, lists (folders too) and downloads a run\'s artifacts at the URIs the client resolves, and refuses ..', async () => {
    const id = await experiment('exp-art');
    const run = await startRun(id);
    const root = `${id}/${run.info.run_id}/artifacts`;
    const model = new TextEncoder().encode('artifact_path: model\nflavors: {}\n');
    const weights = new Uint8Array([1, 2, 3, 4, 5]);
    expect((await ml(NS, 'PUT', `${A}/artifacts/${root}/model/MLmodel`, { raw: model })).status).toBe(200);
    expect((await ml(NS, 'PUT', `${A}/artifacts/${root}/model/data/weights.bin`, { raw: weights })).status).toBe(200);
    expect((await ml(NS, 'PUT', `${A}/artifacts/${root}/notes.txt`, { raw: new TextEncoder().encode('hi') })).status).toBe(200);

    const list = async (path: string) => (await ml(NS, 'GET', `${A}/artifacts`, { body: { path } })).body.files;
    expect(await list(root)).toEqual([
      { path: 'model', is_dir: true },
      { path: 'notes.txt', is_dir: false, file_size: 2 },
    ]);
    expect(await list(`${root}/model`)).toEqual([
      { path: 'MLmodel', is_dir: false, file_size: model.byteLength },
      { path: 'data', is_dir: true },
    ]);
    const got = await ml(NS, 'GET', `${A}/artifacts/${root}/model/data/weights.bin`);
    expect(got.status).toBe(200);
    expect([...(got.body as Uint8Array)]).toEqual([1, 2, 3, 4, 5]);
    // Stored as an artifact of the run's version, its bytes in the blob store.
    const arts = (await call('GET', `/namespaces/${NS}/models/exp-art/versions/1/artifacts`)).body.items;
    expect(arts.find((a: { path: string }) => a.path === 'model/data/weights.bin')?.sha256).toBe(await sha256Hex(weights));

    // A `..` that reaches the server (its slashes escaped) is refused; one the URL resolves lands outside any run's artifacts.
    expectMlError(await ml(NS, 'PUT', `${A}/artifacts/${root}/model%2F..%2F..%2Fescape.txt`, { raw: weights }), 400, 'INVALID_PARAMETER_VALUE');
    expectMlError(await ml(NS, 'PUT', `${A}/artifacts/${root}/%2E%2E/escape.txt`, { raw: weights }), 404, 'RESOURCE_DOES_NOT_EXIST');
    expectMlError(await ml(NS, 'GET', `${A}/artifacts`, { body: { path: `${root}/../x` } }), 400, 'INVALID_PARAMETER_VALUE');
    expectMlError(await ml(NS, 'GET', `${A}/artifacts/${root}/missing.bin`), 404, 'RESOURCE_DOES_NOT_EXIST');
    expectMlError(await ml(NS, 'PUT', `${A}/artifacts/${id}/018f0000-0000-7000-8000-000000000000/artifacts/x`, { raw: weights }), 404, 'RESOURCE_DOES_NOT_EXIST');
    const read = await tokenFor(NS, 'read');
    expectMlError(await ml(NS, 'PUT', `${A}/artifacts/${root}/r.txt`, { raw: weights, token: read }), 403, 'PERMISSION_DENIED');
    expect((await call('GET', `/namespaces/${NS}/models/exp-art/versions/1/artifacts`)).body.items).toHaveLength(3);
  });
});

describe('MLflow model registry', () => {
  it('moves versions between stages, archiving the others when asked, and answers the latest version per stage', async () => {
    const id = await experiment('exp-stage');
    const runId = (await startRun(id)).info.run_id as string;
    await ml(NS, 'PUT', `${A}/artifacts/${id}/${runId}/artifacts/model/model.pkl`, { raw: new TextEncoder().encode('m') });
    await ml(NS, 'POST', `${T}/registered-models/create`, { body: { name: 'staged' } });
    for (let i = 0; i < 3; i++) await ml(NS, 'POST', `${T}/model-versions/create`, { body: { name: 'staged', source: `runs:/${runId}/model`, run_id: runId } });
    const move = (version: string, stage: string, archive?: boolean) =>
      ml(NS, 'POST', `${T}/model-versions/transition-stage`, { body: { name: 'staged', version, stage, ...(archive === undefined ? {} : { archive_existing_versions: archive }) } });
    const stageOf = async (version: string) => (await ml(NS, 'GET', `${T}/model-versions/get`, { body: { name: 'staged', version } })).body.model_version.current_stage;

    expect((await move('1', 'Production')).body.model_version).toMatchObject({ version: '1', current_stage: 'Production' });
    expect((await move('2', 'staging')).body.model_version.current_stage).toBe('Staging');
    expect((await move('3', 'PRODUCTION', true)).body.model_version.current_stage).toBe('Production');
    expect([await stageOf('1'), await stageOf('2'), await stageOf('3')]).toEqual(['Archived', 'Staging', 'Production']);

    const latest = async (stages?: string[]) =>
      (await ml(NS, 'POST', `${T}/registered-models/get-latest-versions`, { body: { name: 'staged', ...(stages ? { stages } : {}) } })).body.model_versions.map(
        (v: { version: string; current_stage: string }) => [v.version, v.current_stage],
      );
    expect(await latest(['Production'])).toEqual([['3', 'Production']]);
    expect(await latest(['none'])).toEqual([]);
    expect(await latest()).toEqual([
      ['1', 'Archived'],
      ['2', 'Staging'],
      ['3', 'Production'],
    ]);
    expect((await ml(NS, 'GET', `${T}/registered-models/get`, { body: { name: 'staged' } })).body.registered_model.latest_versions).toHaveLength(3);
    // The stage is not a tag.
    expect((await ml(NS, 'GET', `${T}/model-versions/get`, { body: { name: 'staged', version: '3' } })).body.model_version.tags).toEqual([]);
    expectMlError(await move('2', 'Prod'), 400, 'INVALID_PARAMETER_VALUE');
    expectMlError(await ml(NS, 'POST', `${T}/registered-models/get-latest-versions`, { body: { name: 'staged', stages: ['Prod'] } }), 400, 'INVALID_PARAMETER_VALUE');
    expectMlError(await move('9', 'Staging'), 404, 'RESOURCE_DOES_NOT_EXIST');
    expect(await stageOf('2')).toBe('Staging');
  });

  it('registers a run\'s model as a version sharing its blobs, with lineage, aliases and tags', async () => {
    const id = await experiment('exp-reg');
    const run = await startRun(id);
    const runId = run.info.run_id as string;
    const root = `${id}/${runId}/artifacts`;
    const bytes = new TextEncoder().encode('the model');
    await ml(NS, 'PUT', `${A}/artifacts/${root}/model/model.pkl`, { raw: bytes });
    await ml(NS, 'PUT', `${A}/artifacts/${root}/model/MLmodel`, { raw: new TextEncoder().encode('flavors: {}') });
    await ml(NS, 'PUT', `${A}/artifacts/${root}/other.txt`, { raw: new TextEncoder().encode('not the model') });

    const created = await ml(NS, 'POST', `${T}/registered-models/create`, { body: { name: 'churn', description: 'churn model', tags: [{ key: 'team', value: 'growth' }] } });
    expect(created.body.registered_model).toMatchObject({ name: 'churn', description: 'churn model', latest_versions: [], tags: [{ key: 'team', value: 'growth' }], aliases: [] });
    expectMlError(await ml(NS, 'POST', `${T}/registered-models/create`, { body: { name: 'churn' } }), 400, 'RESOURCE_ALREADY_EXISTS');

    const mv = await ml(NS, 'POST', `${T}/model-versions/create`, { body: { name: 'churn', source: `runs:/${runId}/model`, run_id: runId } });
    expect(mv.status, JSON.stringify(mv.body)).toBe(200);
    expect(mv.body.model_version).toMatchObject({ name: 'churn', version: '1', source: `runs:/${runId}/model`, run_id: runId, status: 'READY', current_stage: 'None', aliases: [] });
    const v = (await call('GET', `/namespaces/${NS}/models/churn/versions/1`)).body;
    expect(v.sourceVersionId).toBe(runId);
    const files = (await call('GET', `/namespaces/${NS}/models/churn/versions/1/artifacts`)).body.items;
    expect(files.map((f: { path: string; sha256: string }) => [f.path, f.sha256])).toEqual([
      ['MLmodel', expect.any(String)],
      ['model.pkl', await sha256Hex(bytes)],
    ]);
    // The registered files download through the URI get-download-uri gives.
    const uri = (await ml(NS, 'GET', `${T}/model-versions/get-download-uri`, { body: { name: 'churn', version: '1' } })).body.artifact_uri as string;
    expect(uri).toBe('mlflow-artifacts:/models/churn/versions/1/artifacts');
    const dl = await ml(NS, 'GET', `${A}/artifacts/${uri.slice('mlflow-artifacts:/'.length)}/model.pkl`);
    expect(new TextDecoder().decode(dl.body as Uint8Array)).toBe('the model');

    // From the run's artifact URI as the client resolves runs:/ itself.
    const mv2 = await ml(NS, 'POST', `${T}/model-versions/create`, { body: { name: 'churn', source: `mlflow-artifacts:/${root}/model` } });
    expect(mv2.body.model_version).toMatchObject({ version: '2', run_id: runId, status: 'READY' });

    expect((await ml(NS, 'POST', `${T}/registered-models/alias`, { body: { name: 'churn', alias: 'champion', version: '1' } })).body).toEqual({});
    const byAlias = await ml(NS, 'GET', `${T}/registered-models/alias`, { body: { name: 'churn', alias: 'champion' } });
    expect(byAlias.body.model_version).toMatchObject({ name: 'churn', version: '1', aliases: ['champion'] });
    const rm = (await ml(NS, 'GET', `${T}/registered-models/get`, { body: { name: 'churn' } })).body.registered_model;
    expect(rm.aliases).toEqual([{ alias: 'champion', version: '1' }]);
    expect(rm.latest_versions.map((x: { version: string }) => x.version)).toEqual(['2']);
    expect((await call('GET', `/namespaces/${NS}/models/churn/aliases/champion`)).body.version).toBe(1);

    expect((await ml(NS, 'POST', `${T}/model-versions/set-tag`, { body: { name: 'churn', version: '1', key: 'validated', value: 'yes' } })).status).toBe(200);
    expect((await ml(NS, 'PATCH', `${T}/model-versions/update`, { body: { name: 'churn', version: '1', description: 'first' } })).body.model_version.description).toBe('first');
    const mvs = await ml(NS, 'GET', `${T}/model-versions/search`, { body: { filter: `run_id = '${runId}'` } });
    expect(mvs.body.model_versions.map((x: { version: string }) => x.version)).toEqual(['2', '1']);
    expect(mvs.body.model_versions[1].tags).toEqual([{ key: 'validated', value: 'yes' }]);
    expect((await ml(NS, 'GET', `${T}/registered-models/search`, { body: { filter: "name LIKE 'chu%'" } })).body.registered_models.map((m: { name: string }) => m.name)).toEqual(['churn']);

    expect((await ml(NS, 'DELETE', `${T}/registered-models/alias`, { body: { name: 'churn', alias: 'champion' } })).status).toBe(200);
    expectMlError(await ml(NS, 'GET', `${T}/registered-models/alias`, { body: { name: 'churn', alias: 'champion' } }), 404, 'RESOURCE_DOES_NOT_EXIST');
    expect((await ml(NS, 'DELETE', `${T}/model-versions/delete`, { body: { name: 'churn', version: '2' } })).status).toBe(200);
    expectMlError(await ml(NS, 'GET', `${T}/model-versions/get`, { body: { name: 'churn', version: '2' } }), 404, 'RESOURCE_DOES_NOT_EXIST');
  });

  it('answers PENDING_REGISTRATION until the files\' bytes are there, then READY, so the client\'s polling works', async () => {
    const id = await experiment('exp-poll');
    const run = await startRun(id);
    // A file registered through Hangar's API whose bytes have not been uploaded yet.
    const bytes = new TextEncoder().encode('late bytes');
    const sha256 = await sha256Hex(bytes);
    expect((await call('POST', `/namespaces/${NS}/models/exp-poll/versions/1/artifacts`, { body: { path: 'model/model.bin', size: bytes.byteLength, sha256 } })).status).toBe(201);
    await ml(NS, 'POST', `${T}/registered-models/create`, { body: { name: 'polled' } });
    const mv = await ml(NS, 'POST', `${T}/model-versions/create`, { body: { name: 'polled', source: `runs:/${run.info.run_id}/model`, run_id: run.info.run_id } });
    expect(mv.body.model_version.status).toBe('PENDING_REGISTRATION');
    const poll = () => ml(NS, 'GET', `${T}/model-versions/get`, { body: { name: 'polled', version: '1' } });
    expect((await poll()).body.model_version.status).toBe('PENDING_REGISTRATION');
    await putBlob(NS, bytes);
    expect((await poll()).body.model_version.status).toBe('READY');
  });

  it('refuses bad registry input with MLflow codes', async () => {
    await ml(NS, 'POST', `${T}/registered-models/create`, { body: { name: 'reg-bad' } });
    expectMlError(await ml(NS, 'GET', `${T}/registered-models/get`, { body: { name: 'never' } }), 404, 'RESOURCE_DOES_NOT_EXIST');
    expectMlError(await ml(NS, 'POST', `${T}/model-versions/create`, { body: { name: 'reg-bad', source: 's3://bucket/x' } }), 400, 'INVALID_PARAMETER_VALUE');
    expectMlError(
      await ml(NS, 'POST', `${T}/model-versions/create`, { body: { name: 'reg-bad', source: 'runs:/018f0000-0000-7000-8000-000000000000/model' } }),
      404,
      'RESOURCE_DOES_NOT_EXIST',
    );
    expectMlError(await ml(NS, 'POST', `${T}/model-versions/create`, { body: { name: 'never', source: 'runs:/x/model' } }), 404, 'RESOURCE_DOES_NOT_EXIST');
    expectMlError(await ml(NS, 'POST', `${T}/registered-models/alias`, { body: { name: 'reg-bad', alias: 'champion', version: '9' } }), 404, 'RESOURCE_DOES_NOT_EXIST');
    expectMlError(await ml(NS, 'GET', `${T}/model-versions/get`, { body: { name: 'reg-bad', version: 'abc' } }), 404, 'RESOURCE_DOES_NOT_EXIST');
    expect((await call('GET', `/namespaces/${NS}/models/reg-bad/versions`)).body.items).toEqual([]);
  });
});

describe('MLflow: the remaining endpoints', () => {
  it('pages experiments, deletes and logs models on runs, and edits, tags and deletes registered models and versions', async () => {
    for (const n of ['pg-a', 'pg-b', 'pg-c']) await experiment(n);
    const page1 = await ml(NS, 'GET', `${T}/experiments/search`, { body: { filter: "name LIKE 'pg-%'", max_results: 2, order_by: 'name ASC' } });
    expect(page1.body.experiments.map((e: { name: string }) => e.name)).toEqual(['pg-a', 'pg-b']);
    const page2 = await ml(NS, 'POST', `${T}/experiments/search`, { body: { filter: "name LIKE 'pg-%'", max_results: 2, order_by: ['name ASC'], page_token: page1.body.next_page_token } });
    expect(page2.body.experiments.map((e: { name: string }) => e.name)).toEqual(['pg-c']);
    expect(page2.body.next_page_token).toBeUndefined();

    const id = await experiment('exp-rest');
    const run = await startRun(id);
    const runId = run.info.run_id as string;
    const modelJson = JSON.stringify({ artifact_path: 'model', flavors: { python_function: {} }, run_id: runId });
    expect((await ml(NS, 'POST', `${T}/runs/log-model`, { body: { run_id: runId, model_json: modelJson } })).status).toBe(200);
    const tags = (await ml(NS, 'GET', `${T}/runs/get`, { body: { run_id: runId } })).body.run.data.tags as { key: string; value: string }[];
    expect(JSON.parse(tags.find((t) => t.key === 'mlflow.log-model.history')!.value)).toEqual([JSON.parse(modelJson)]);
    expectMlError(await ml(NS, 'POST', `${T}/runs/log-model`, { body: { run_id: runId, model_json: '{' } }), 400, 'INVALID_PARAMETER_VALUE');
    expect((await ml(NS, 'POST', `${T}/runs/delete`, { body: { run_id: runId } })).status).toBe(200);
    expectMlError(await ml(NS, 'GET', `${T}/runs/get`, { body: { run_id: runId } }), 404, 'RESOURCE_DOES_NOT_EXIST');

    const other = await startRun(id);
    await ml(NS, 'PUT', `${A}/artifacts/${id}/${other.info.run_id}/artifacts/model/MLmodel`, { raw: new TextEncoder().encode('m') });
    await ml(NS, 'POST', `${T}/registered-models/create`, { body: { name: 'edited' } });
    const updated = await ml(NS, 'PATCH', `${T}/registered-models/update`, { body: { name: 'edited', description: 'now described' } });
    expect(updated.body.registered_model.description).toBe('now described');
    expect((await ml(NS, 'POST', `${T}/registered-models/set-tag`, { body: { name: 'edited', key: 'k', value: 'v' } })).status).toBe(200);
    expect((await ml(NS, 'GET', `${T}/registered-models/get`, { body: { name: 'edited' } })).body.registered_model.tags).toEqual([{ key: 'k', value: 'v' }]);
    expect((await ml(NS, 'DELETE', `${T}/registered-models/delete-tag`, { body: { name: 'edited', key: 'k' } })).status).toBe(200);
    expect((await ml(NS, 'GET', `${T}/registered-models/get`, { body: { name: 'edited' } })).body.registered_model.tags).toEqual([]);

    await ml(NS, 'POST', `${T}/model-versions/create`, { body: { name: 'edited', source: `runs:/${other.info.run_id}/model` } });
    await ml(NS, 'POST', `${T}/model-versions/set-tag`, { body: { name: 'edited', version: '1', key: 'q', value: 'ok' } });
    expect((await ml(NS, 'DELETE', `${T}/model-versions/delete-tag`, { body: { name: 'edited', version: '1', key: 'q' } })).status).toBe(200);
    expect((await ml(NS, 'GET', `${T}/model-versions/get`, { body: { name: 'edited', version: '1' } })).body.model_version.tags).toEqual([]);
    const latest = await ml(NS, 'POST', `${T}/registered-models/get-latest-versions`, { body: { name: 'edited', stages: ['None'] } });
    expect(latest.body.model_versions.map((v: { version: string }) => v.version)).toEqual(['1']);
    expect((await ml(NS, 'POST', `${T}/registered-models/get-latest-versions`, { body: { name: 'edited', stages: ['Production'] } })).body.model_versions).toEqual([]);

    expect((await ml(NS, 'DELETE', `${T}/registered-models/delete`, { body: { name: 'edited' } })).status).toBe(200);
    expectMlError(await ml(NS, 'GET', `${T}/registered-models/get`, { body: { name: 'edited' } }), 404, 'RESOURCE_DOES_NOT_EXIST');
    // Registered-model endpoints never reach an experiment, nor run endpoints a registered model's version.
    expectMlError(await ml(NS, 'DELETE', `${T}/registered-models/delete`, { body: { name: 'exp-rest' } }), 404, 'RESOURCE_DOES_NOT_EXIST');
    expect((await call('GET', `/namespaces/${NS}/models/exp-rest`)).status).toBe(200);
  });
});

describe('MLflow: malformed input', () => {
  const ENDPOINTS: [string, string][] = [
    ['POST', 'experiments/create'], ['GET', 'experiments/get'], ['GET', 'experiments/get-by-name'], ['POST', 'experiments/search'],
    ['POST', 'experiments/delete'], ['POST', 'experiments/restore'], ['POST', 'experiments/set-experiment-tag'], ['POST', 'runs/create'], ['GET', 'runs/get'],
    ['POST', 'runs/update'], ['POST', 'runs/delete'], ['POST', 'runs/restore'], ['POST', 'runs/log-metric'], ['POST', 'runs/log-parameter'],
    ['POST', 'runs/log-batch'], ['POST', 'runs/log-model'], ['POST', 'runs/set-tag'], ['POST', 'runs/delete-tag'], ['POST', 'runs/search'],
    ['GET', 'metrics/get-history'], ['POST', 'registered-models/create'], ['GET', 'registered-models/get'], ['GET', 'registered-models/search'],
    ['DELETE', 'registered-models/delete'], ['PATCH', 'registered-models/update'], ['POST', 'registered-models/set-tag'],
    ['DELETE', 'registered-models/delete-tag'], ['POST', 'registered-models/alias'], ['DELETE', 'registered-models/alias'],
    ['GET', 'registered-models/alias'], ['POST', 'registered-models/get-latest-versions'], ['POST', 'model-versions/create'],
    ['GET', 'model-versions/get'], ['PATCH', 'model-versions/update'], ['DELETE', 'model-versions/delete'], ['GET', 'model-versions/search'],
    ['POST', 'model-versions/set-tag'], ['DELETE', 'model-versions/delete-tag'], ['GET', 'model-versions/get-download-uri'],
    ['POST', 'model-versions/transition-stage'],
  ];
  const BODIES: (Record<string, unknown> | string)[] = [
    {},
    { run_id: 5, name: { x: 1 }, experiment_id: null, key: '', value: 7, version: [], alias: 'v1', source: 9, filter: 5 },
    { run_id: 'x'.repeat(300), name: 'a'.repeat(300), experiment_id: '0'.repeat(40), key: 'k\0', value: 'v', version: '-1', alias: 'latest' },
    '[1, 2]',
    'null',
    '{"name":',
  ];

  it('answers every endpoint with an MLflow error and never a 5xx', async () => {
    for (const [method, path] of ENDPOINTS) {
      for (const body of BODIES) {
        const r =
          typeof body === 'string'
            ? method === 'GET'
              ? await ml(NS, method, `${T}/${path}`, { body: { x: body } })
              : await ml(NS, method, `${T}/${path}`, { raw: new TextEncoder().encode(body), headers: { 'content-type': 'application/json' } })
            : await ml(NS, method, `${T}/${path}`, { body });
        expect(r.status, `${method} ${path} ${JSON.stringify(body)} → ${JSON.stringify(r.body)}`).toBeLessThan(500);
        if (r.status >= 400) expect(typeof r.body.error_code, `${method} ${path}`).toBe('string');
      }
    }
  });
});
