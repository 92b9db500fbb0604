import 'fake-indexeddb/auto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { openRegistry, type Hangar, type JobsOptions } from '../index.ts';
import { codeOf, errorOf } from '../test-helpers.ts';
import { predictors } from './factories.ts';
import { VersionHandle } from '../version.ts';
import { LocalInitializer } from './initializer.ts';
import { LocalPredictor } from './predictor.ts';
import { JobRecords } from './records.ts';
import { KEEP_SETTLED } from './runner.ts';
import { PredictSession } from './session.ts';
import { deferred, fakeLocks, fakePredictors, trainRecord } from './test-fakes.ts';

let open: Hangar[] = [];
let n = 0;
async function registry(jobs: JobsOptions = {}, name = `predictor-${n++}`): Promise<Hangar> {
  const h = await openRegistry({ name, persist: false, jobs });
  open.push(h);
  return h;
}
afterEach(async () => {
  vi.restoreAllMocks();
  vi.unstubAllGlobals();
  await Promise.all(open.map((h) => h.close()));
  open = [];
});

function fake(opts: Parameters<typeof fakePredictors>[0] = {}) {
  const workers = fakePredictors(opts);
  let built: LocalPredictor | undefined;
  predictors.register('fake', (ctx) => (built = new LocalPredictor(ctx, workers.spawn)));
  return { ...workers, predictor: () => built! };
}

async function imported(h: Hangar, name: string, uniqueTags?: string[]) {
  const files = { 'model.json': new Blob(['{}'], { type: 'application/json' }), 'weights.bin': new Blob([new Uint8Array([1, 2])]) };
  return h.importModelFiles({ namespace: 'team', model: name, module: 'tfjs-import', files, ...(uniqueTags ? { uniqueTags } : {}) });
}

describe('prediction jobs', () => {
  it('predicts through a job', async () => {
    const workers = fake();
    const h = await registry();
    const v = await imported(h, 'iris', ['production']);
    const job = h.predictor('fake').predict('team/iris@production', [{ x: 1 }, { x: 2.5 }]);
    expect(job.id).toMatch(/^fake:/);
    expect(await job.result()).toEqual({ predictions: [2, 5] });
    expect(await job.info()).toMatchObject({ type: 'predict', status: 'completed', module: 'tfjs-import', versionId: v.id, backend: 'cpu', error: null });
    expect(workers.spawned).toHaveLength(1);
    expect(workers.spawned[0]!.loads).toEqual([v.id]);
    // Loaded once, predicted many times: the model cache is keyed by the resolved version.
    await h.predictor('fake').predict('team/iris/1', { rows: [{ x: 3 }] }).result();
    expect(workers.spawned[0]!.loads).toEqual([v.id]);
    expect((await (await h.job(job.id)).info()).status).toBe('completed');
  });

  it('keeps at most modelCacheSize models loaded, unloading the least recently used', async () => {
    const workers = fake();
    const h = await registry({ modelCacheSize: 2 });
    const [a, b, c] = [await imported(h, 'a'), await imported(h, 'b'), await imported(h, 'c')];
    const p = h.predictor('fake');
    for (const ref of ['team/a', 'team/b', 'team/a', 'team/c']) await p.predict(ref, [{ x: 1 }]).result();
    expect(workers.spawned[0]!.unloads).toEqual([b.id]);
    expect((p as LocalPredictor).loaded).toEqual([a.id, c.id]);
  });

  it('refuses a bad reference or input at the call', async () => {
    fake();
    const h = await registry();
    expect(() => h.predictor('fake').predict('not a ref', [])).toThrow(/is not a reference/);
    expect(() => h.predictor('fake').predict('team/iris', [{ x: { nested: 1 } } as never])).toThrow(/Invalid prediction input/);
    expect(() => h.predictor('nope')).toThrow(/Unknown predictor type "nope"/);
  });

  it('errors the job (not the call) for a missing model, a version without a module, or files that do not load', async () => {
    fake();
    const h = await registry();
    const missing = h.predictor('fake').predict('team/ghost@production', [{ x: 1 }]);
    expect(await codeOf(missing.result())).toBe('model-not-found');
    expect((await missing.info()).error).toMatchObject({ code: 'model-not-found' });
    const bare = await h.newModel({ namespace: 'team', name: 'bare' });
    await bare.newVersion();
    expect(await codeOf(h.predictor('fake').predict('team/bare', [{ x: 1 }]).result())).toBe('invalid-argument');
    await h.importModelFiles({ namespace: 'team', model: 'broken', module: 'tfjs-import', files: { 'weights.bin': new Blob(['x']) } });
    const broken = h.predictor('fake').predict('team/broken', [{ x: 1 }]);
    expect(await codeOf(broken.result())).toBe('invalid-model-file');
    expect((await broken.wait()).status).toBe('errored');
  });

  it('shuts the idle worker down, unloading its models, and starts a new one when needed', async () => {
    const workers = fake();
    const h = await registry({ predictorIdleMs: 20 });
    await imported(h, 'iris');
    await h.predictor('fake').predict('team/iris', [{ x: 1 }]).result();
    await expect.poll(() => workers.spawned[0]!.terminated).toBe(true);
    await h.predictor('fake').predict('team/iris', [{ x: 1 }]).result();
    expect(workers.spawned).toHaveLength(2);
    expect(workers.spawned[1]!.loads).toHaveLength(1);
  });

  it('errors the jobs of a worker that dies, then recovers with a new worker', async () => {
    const hold = deferred();
    const workers = fake({ beforePredict: () => hold.promise });
    const h = await registry();
    await imported(h, 'iris');
    const job = h.predictor('fake').predict('team/iris', [{ x: 1 }]);
    await expect.poll(() => workers.spawned[0]?.loads.length).toBe(1);
    workers.spawned[0]!.die();
    expect(await codeOf(job.result())).toBe('internal');
    hold.resolve();
    expect(await h.predictor('fake').predict('team/iris', [{ x: 4 }]).result()).toEqual({ predictions: [8] });
    expect(workers.spawned).toHaveLength(2);
  });

  it('cancels a prediction: the job ends canceled and a worker no one else needs is terminated', async () => {
    const hold = deferred();
    const workers = fake({ beforePredict: () => hold.promise });
    const h = await registry();
    await imported(h, 'iris');
    const job = h.predictor('fake').predict('team/iris', [{ x: 1 }]);
    await expect.poll(() => workers.spawned[0]?.loads.length).toBe(1);
    await job.cancel();
    expect((await job.info()).status).toBe('canceled');
    await expect(job.result()).rejects.toMatchObject({ code: 'job-stopped' });
    expect(workers.spawned[0]!.terminated).toBe(true);
    expect(await codeOf(job.resume())).toBe('invalid-argument');
  });
});

describe('prediction jobs in memory', () => {
  it('writes no job record and takes no Web Lock, whether a prediction completes, errors or is canceled', async () => {
    const locks = fakeLocks();
    const request = vi.fn(locks.manager.request);
    vi.stubGlobal('navigator', { locks: { ...locks.manager, request } });
    const add = vi.spyOn(JobRecords.prototype, 'add');
    const update = vi.spyOn(JobRecords.prototype, 'update');
    const hold = deferred();
    let held = false;
    const workers = fake({ beforePredict: () => (held ? hold.promise : Promise.resolve()) });
    const h = await registry();
    await imported(h, 'iris', ['production']);
    const p = h.predictor('fake');
    expect(await p.predict('team/iris@production', [{ x: 1 }]).result()).toEqual({ predictions: [2] });
    expect(await codeOf(p.predict('team/ghost', [{ x: 1 }]).result())).toBe('model-not-found');
    held = true;
    const canceled = p.predict('team/iris', [{ x: 1 }]);
    await expect.poll(() => workers.spawned[0]?.terminated === false && (p as LocalPredictor).jobs().some((j) => j.id === canceled.id && j.versionId)).toBe(true);
    await canceled.cancel();
    expect((await canceled.wait()).status).toBe('canceled');
    expect(await h.db.jobs.count()).toBe(0);
    expect(add).not.toHaveBeenCalled();
    expect(update).not.toHaveBeenCalled();
    expect(request.mock.calls.filter(([name]) => String(name).startsWith('hangar-job:'))).toEqual([]);
    hold.resolve();
  });

  it('lists and finds this registry’s predictions with the recorded jobs, newest first; another tab does not see them', async () => {
    fake();
    const h = await registry({}, 'predictor-listed');
    await imported(h, 'iris');
    await h.db.jobs.add(trainRecord('fake:0000-trained', 'completed', { submitted: Date.now() - 60_000 }));
    const p = h.predictor('fake');
    const first = p.predict('team/iris', [{ x: 1 }]);
    await first.wait();
    const failed = p.predict('team/ghost', [{ x: 1 }]);
    await failed.wait();
    const listed = await h.jobs();
    expect(listed.map((j) => [j.id, j.type, j.status])).toEqual([
      [failed.id, 'predict', 'errored'],
      [first.id, 'predict', 'completed'],
      ['fake:0000-trained', 'train', 'completed'],
    ]);
    const again = await h.job(first.id);
    expect(await again.info()).toMatchObject({ id: first.id, type: 'predict', status: 'completed', module: 'tfjs-import', backend: 'cpu' });
    expect(await again.result()).toEqual({ predictions: [2] });
    expect((await again.wait()).status).toBe('completed');
    expect(await codeOf((await h.job(failed.id)).result())).toBe('model-not-found');
    expect(await codeOf(h.job('fake:no-such-job'))).toBe('job-not-found');
    expect(await codeOf(h.job('nobody:no-such-job'))).toBe('job-not-found');
    expect(await codeOf(p.get('fake:no-such-job'))).toBe('job-not-found');
    // Another tab (a second registry on the same database) keeps its own predictions.
    const other = await registry({}, 'predictor-listed');
    expect((await other.jobs()).map((j) => j.id)).toEqual(['fake:0000-trained']);
    expect(await codeOf(other.job(first.id))).toBe('job-not-found');
  });

  it(`keeps every running prediction and the last ${KEEP_SETTLED} settled ones`, async () => {
    const hold = deferred();
    let held = true;
    fake({ beforePredict: () => (held ? ((held = false), hold.promise) : Promise.resolve()) });
    const h = await registry();
    await imported(h, 'iris');
    const p = h.predictor('fake');
    const running = p.predict('team/iris', [{ x: 1 }]);
    await expect.poll(async () => (await running.info()).versionId).not.toBeNull();
    const settled: ReturnType<typeof p.predict>[] = [];
    for (let i = 0; i <= KEEP_SETTLED; i++) settled.push(p.predict('team/iris', [{ x: i }]));
    // A resolved reference is kept, so these settle within a few ticks: the first may be gone before anyone waits for it.
    await expect.poll(async () => (await h.jobs()).filter((j) => j.status === 'completed').length).toBe(KEEP_SETTLED);
    await expect.poll(async () => codeOf(settled[0]!.info())).toBe('job-not-found');
    expect((await h.jobs()).length).toBe(KEEP_SETTLED + 1);
    expect(await codeOf(settled[0]!.info())).toBe('job-not-found');
    expect(await codeOf(h.job(settled[0]!.id))).toBe('job-not-found');
    expect(await settled[1]!.result()).toEqual({ predictions: [2] });
    expect((await running.info()).status).toBe('running');
    hold.resolve();
    expect(await running.result()).toEqual({ predictions: [2] });
    expect((await h.jobs()).length).toBe(KEEP_SETTLED);
  });

  it('cancel: before the reference is resolved, after the job completed, and twice', async () => {
    const workers = fake();
    const h = await registry();
    await imported(h, 'iris');
    const p = h.predictor('fake');
    const early = p.predict('team/iris', [{ x: 1 }]);
    await early.cancel();
    expect(await early.info()).toMatchObject({ status: 'canceled', error: null });
    expect(await errorOf(early.result())).toMatchObject({ code: 'job-stopped', message: expect.stringContaining('was canceled') });
    await early.cancel();
    expect((await early.wait()).status).toBe('canceled');
    const done = p.predict('team/iris', [{ x: 3 }]);
    expect(await done.result()).toEqual({ predictions: [6] });
    await done.cancel();
    expect((await done.info()).status).toBe('completed');
    expect(await done.result()).toEqual({ predictions: [6] });
    // The early one never reached the worker.
    expect(workers.spawned).toHaveLength(1);
    expect(workers.spawned[0]!.loads).toHaveLength(1);
  });
});

describe('resolving references', () => {
  const versionOf = async (h: Hangar, ref: string) => {
    const job = h.predictor('fake').predict(ref, [{ x: 1 }]);
    await job.wait();
    const info = await job.info();
    if (info.status !== 'completed') throw Object.assign(new Error(info.error?.message), { code: info.error?.code });
    return info.versionId;
  };

  it('sees a moved alias at the next prediction, in this tab or another', async () => {
    const workers = fake();
    const h = await registry({}, 'predictor-alias');
    const v1 = await imported(h, 'iris', ['production']);
    expect(await versionOf(h, 'team/iris@production')).toBe(v1.id);
    const v2 = await imported(h, 'iris', ['production']);
    expect(await versionOf(h, 'team/iris@production')).toBe(v2.id);
    const model = await h.model('team', 'iris');
    await model.setAlias('production', v1);
    expect(await versionOf(h, 'team/iris@production')).toBe(v1.id);
    // Moved by another tab (its own database connection): seen here at once.
    const other = await registry({}, 'predictor-alias');
    await (await other.model('team', 'iris')).setAlias('production', 2);
    expect(await versionOf(h, 'team/iris@production')).toBe(v2.id);
    expect(workers.spawned[0]!.loads).toEqual([v1.id, v2.id]);
    await model.deleteAlias('production');
    expect(await codeOf(h.predictor('fake').predict('team/iris@production', [{ x: 1 }]).result())).toBe('alias-not-found');
    await model.setAlias('production', v1);
    expect(await versionOf(h, 'team/iris@production')).toBe(v1.id);
    await v1.delete();
    expect(await codeOf(h.predictor('fake').predict('team/iris@production', [{ x: 1 }]).result())).toBe('alias-not-found');
  });

  it('sees new, failed and deleted versions, a changed module and a deleted model', async () => {
    fake();
    const h = await registry();
    const v1 = await imported(h, 'iris');
    expect(await versionOf(h, 'team/iris')).toBe(v1.id);
    expect(await versionOf(h, 'team/iris/1')).toBe(v1.id);
    const v2 = await imported(h, 'iris');
    expect(await versionOf(h, 'team/iris')).toBe(v2.id);
    expect(await versionOf(h, 'team/iris/2')).toBe(v2.id);
    await v2.update({ status: 'failed' });
    expect(await versionOf(h, 'team/iris')).toBe(v1.id);
    await v1.updateMetadata('module', 'onnx-import');
    const job = h.predictor('fake').predict('team/iris/1', [{ x: 1 }]);
    await job.wait();
    expect(await job.info()).toMatchObject({ status: 'completed', module: 'onnx-import', versionId: v1.id });
    await v1.updateMetadata('module', '');
    expect(await codeOf(h.predictor('fake').predict('team/iris/1', [{ x: 1 }]).result())).toBe('invalid-argument');
    await v2.delete();
    expect(await codeOf(h.predictor('fake').predict('team/iris/2', [{ x: 1 }]).result())).toBe('version-not-found');
    await (await h.model('team', 'iris')).delete();
    for (const ref of ['team/iris', 'team/iris/1']) expect(await codeOf(h.predictor('fake').predict(ref, [{ x: 1 }]).result())).toBe('model-not-found');
    const fresh = await imported(h, 'iris');
    expect(fresh.number).toBe(3);
    expect(await versionOf(h, 'team/iris')).toBe(fresh.id);
    expect(await codeOf(h.predictor('fake').predict('team/iris/1', [{ x: 1 }]).result())).toBe('version-not-found');
    // The model row alone marked deleted (as a sync could leave it for a moment): seen too.
    expect(await versionOf(h, 'team/iris/3')).toBe(fresh.id);
    await h.db.models.update(fresh.modelId, { deletedAt: Date.now() });
    expect(await codeOf(h.predictor('fake').predict('team/iris/3', [{ x: 1 }]).result())).toBe('model-not-found');
  });

  it('reads nothing for a reference resolved before; one read-only transaction after a change', async () => {
    fake();
    // Dexie binds the database's transaction method when it opens it: spied on before.
    const transaction = vi.spyOn(IDBDatabase.prototype, 'transaction');
    const h = await registry();
    const v1 = await imported(h, 'iris', ['production']);
    const v2 = await imported(h, 'iris');
    const p = h.predictor('fake');
    // Both models loaded: from here on a prediction reads no model files.
    for (const ref of ['team/iris/1', 'team/iris/2']) await p.predict(ref, [{ x: 1 }]).result();
    const modes = async (ref: string) => {
      transaction.mockClear();
      await p.predict(ref, [{ x: 1 }]).result();
      return transaction.mock.calls.map(([, mode]) => mode ?? 'readonly');
    };
    const load = vi.spyOn(VersionHandle, 'load');
    // Resolved (first time), then kept.
    expect(await modes('team/iris@production')).toEqual(['readonly']);
    expect(load).toHaveBeenCalledTimes(1);
    for (let i = 0; i < 3; i++) expect(await modes('team/iris@production')).toEqual([]);
    expect(load).toHaveBeenCalledTimes(1);
    // The alias moved: resolved again, to the new version.
    await (await h.model('team', 'iris')).setAlias('production', v2);
    expect(await modes('team/iris@production')).toEqual(['readonly']);
    expect(load).toHaveBeenCalledTimes(2);
    expect((await h.jobs())[0]!.versionId).toBe(v2.id);
    expect(await modes('team/iris@production')).toEqual([]);
    await (await h.model('team', 'iris')).setAlias('production', v1);
    expect(await modes('team/iris@production')).toEqual(['readonly']);
    expect((await h.jobs())[0]!.versionId).toBe(v1.id);
    for (const ref of ['team/iris', 'team/iris/1']) {
      expect(await modes(ref)).toEqual(['readonly']);
      expect(await modes(ref)).toEqual([]);
    }
    // A write elsewhere in the database (a job record) keeps what was resolved.
    await h.db.jobs.put(trainRecord('local-other', 'completed'));
    expect(await modes('team/iris/1')).toEqual([]);
    // A version's status changing forgets it; deleting the version makes the next prediction fail.
    await v1.update({ status: 'failed' });
    expect(await modes('team/iris/1')).toEqual(['readonly']);
    await v1.delete();
    expect(await codeOf(p.predict('team/iris/1', [{ x: 1 }]).result())).toBe('version-not-found');
    expect(await codeOf(p.predict('team/iris@production', [{ x: 1 }]).result())).toBe('alias-not-found');
  });

  it('keeps nothing once the database is closed: finds fail as they would', async () => {
    fake();
    const h = await registry();
    const v1 = await imported(h, 'iris', ['production']);
    expect(await versionOf(h, 'team/iris@production')).toBe(v1.id);
    h.db.close();
    expect(await codeOf(h.predictor('fake').predict('team/iris@production', [{ x: 1 }]).result())).toBe('internal');
  });
});

describe('the predictor worker stopping under predictions', () => {
  const config = (id: string) => ({
    ref: `team/${id}`,
    version: { id } as VersionHandle,
    module: 'tfjs-import',
    framework: 'tfjs' as const,
    files: async () => ({ 'model.json': new Blob(['{}']) }),
  });

  it('rejects every call under way with job-stopped when the session closes', async () => {
    const hold = deferred();
    const workers = fakePredictors({ beforePredict: () => hold.promise });
    const session = new PredictSession(workers.spawn, 4, 60_000);
    const calls = ['a', 'b'].map((id) => session.predict(`job-${id}`, config(id), new LocalInitializer(), { rows: [{ x: 1 }] }));
    await expect.poll(() => workers.spawned[0]?.loads.length).toBe(2);
    session.close();
    for (const call of calls) expect(await codeOf(call)).toBe('job-stopped');
    expect(workers.spawned[0]!.terminated).toBe(true);
    expect(session.running).toBe(false);
  });

  it('ends predictions under way interrupted when the predictor closes', async () => {
    const hold = deferred();
    const workers = fake({ beforePredict: () => hold.promise });
    const h = await registry();
    await imported(h, 'iris');
    const job = h.predictor('fake').predict('team/iris', [{ x: 1 }]);
    await expect.poll(() => workers.spawned[0]?.loads.length).toBe(1);
    await h.predictor('fake').close();
    expect(await codeOf(job.result())).toBe('job-stopped');
    expect((await job.info()).status).toBe('interrupted');
    expect(workers.spawned[0]!.terminated).toBe(true);
  });
});

describe('importModelFiles', () => {
  it('stores the files under model/ with module metadata, creating the model', async () => {
    const h = await registry();
    const file = new File([new Uint8Array([1])], 'model.onnx');
    const v = await h.importModelFiles({ namespace: 'team', model: 'onnx', module: 'onnx-import', files: [file], uniqueTags: ['production'] });
    expect(v).toMatchObject({ number: 1, framework: 'onnx', uniqueTags: ['production'], status: 'ready' });
    expect((await v.artifacts()).map((a) => [a.path, a.fileType])).toEqual([['model/model.onnx', 'MODEL']]);
    expect((await v.metadata()).module).toBe('onnx-import');
    expect(await codeOf(h.importModelFiles({ namespace: 'team', model: 'x', module: 'tfjs-import', files: {} }))).toBe('invalid-argument');
  });

  it('refuses a module that does not import files before making a model or version', async () => {
    const h = await registry();
    const files = { 'model.json': new Blob(['{}']) };
    const unknown = await errorOf(h.importModelFiles({ namespace: 'team', model: 'x', module: 'no-such-module', files }));
    expect(unknown.code).toBe('unknown-module');
    expect(unknown.message).toContain('tfjs-import, onnx-import');
    expect(await codeOf(h.importModelFiles({ namespace: 'team', model: 'x', module: 'tabular-classifier', files }))).toBe('invalid-argument');
    expect(await codeOf(h.model('team', 'x'))).toBe('model-not-found');
  });
});
