import 'fake-indexeddb/auto';
import { afterEach, describe, expect, it } from 'vitest';
import { openRegistry, type Hangar, type JobsOptions } from '../index.ts';
import { codeOf, errorOf } from '../test-helpers.ts';
import { predictors } from './factories.ts';
import type { VersionHandle } from '../version.ts';
import { LocalInitializer } from './initializer.ts';
import { LocalPredictor } from './predictor.ts';
import { PredictSession } from './session.ts';
import { deferred, fakePredictors } from './test-fakes.ts';

let open: Hangar[] = [];
let n = 0;
async function registry(jobs: JobsOptions = {}): Promise<Hangar> {
  const h = await openRegistry({ name: `predictor-${n++}`, persist: false, jobs });
  open.push(h);
  return h;
}
afterEach(async () => {
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
  it('predicts through a job and records it', async () => {
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
