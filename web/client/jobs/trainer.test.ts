import 'fake-indexeddb/auto';
import { afterEach, describe, expect, it } from 'vitest';
import { openRegistry, type Hangar, type JobsOptions } from '../index.ts';
import { codeOf } from '../test-helpers.ts';
import { trainers } from './factories.ts';
import { deferred, fakeTrainers } from './test-fakes.ts';
import { LocalTrainer } from './trainer.ts';

let open: Hangar[] = [];
let n = 0;
async function registry(name = `trainer-${n++}`, jobs: JobsOptions = {}): Promise<Hangar> {
  const h = await openRegistry({ name, persist: false, jobs });
  open.push(h);
  return h;
}
afterEach(async () => {
  await Promise.all(open.map((h) => h.close()));
  open = [];
});

/** Registers trainer type `fake` over fake workers; answers them. */
function fake(opts: Parameters<typeof fakeTrainers>[0] = {}) {
  const workers = fakeTrainers(opts);
  trainers.register('fake', (ctx) => new LocalTrainer(ctx, workers.spawn));
  return workers;
}

const rows = [
  { x: 1, y: 'a' },
  { x: 2, y: 'b' },
];
const opts = (params: Record<string, unknown> = {}) => ({ data: rows, target: 'y', params, saveAs: { namespace: 'team', model: 'iris' }, checkpointEvery: 2 });

describe('training jobs', () => {
  it('trains to a ready version with per-epoch metrics, checkpoints, model files and lineage', async () => {
    const workers = fake();
    const h = await registry();
    const job = h.trainer('FAKE').train('tabular-classifier', opts({ epochs: 4 }));
    expect(job.id).toMatch(/^fake:[0-9a-f-]{36}$/);
    const seen: number[] = [];
    job.onProgress((p) => seen.push(p.epoch));
    const version = await job.result();
    expect(seen).toEqual([1, 2, 3, 4]);
    expect(version).toMatchObject({ model: 'iris', number: 1, status: 'ready', framework: 'tfjs' });
    expect((await version.metricHistory('loss')).map((p) => p.step)).toEqual([1, 2, 3, 4]);
    expect((await version.checkpoints()).items.map((c) => c.handle)).toEqual(['epoch_2', 'epoch_4']);
    expect((await version.checkpoints()).default).toBe('epoch_4');
    expect((await version.artifacts()).filter((a) => a.path.startsWith('model/')).map((a) => [a.path, a.fileType])).toEqual([
      ['model/model.json', 'MODEL'],
      ['model/weights.bin', 'MODEL'],
    ]);
    const meta = await version.metadata();
    expect(meta.module).toBe('tabular-classifier');
    expect(meta.lineage).toEqual({ module: 'tabular-classifier', params: { epochs: 4, filled: true }, datasetSha256: 'a'.repeat(64), job: job.id, backend: 'cpu' });
    expect((await h.model('team', 'iris')).task).toBe('tabular');
    const info = await job.info();
    expect(info).toMatchObject({ status: 'completed', type: 'train', backend: 'cpu', versionId: version.id, lastCheckpoint: { epoch: 4 }, error: null });
    expect(info.progress).toMatchObject({ epoch: 4, epochs: 4 });
    expect(Date.parse(info.completed!)).toBeGreaterThanOrEqual(Date.parse(info.started!));
    expect(workers.spawned).toHaveLength(1);
    expect(workers.spawned[0]!.terminated).toBe(true);
    expect(workers.spawned[0]!.requests[0]).toMatchObject({ module: 'tabular-classifier', target: 'y', checkpointEvery: 2, backends: ['webgpu', 'webgl', 'wasm', 'cpu'] });
    expect((await (await h.job(job.id)).info()).status).toBe('completed');
    expect((await h.jobs()).map((j) => j.id)).toEqual([job.id]);
  });

  it('queues jobs beyond the concurrency limit and runs them in turn', async () => {
    const gate = deferred();
    const workers = fake({ beforeEpoch: () => gate.promise });
    const h = await registry(undefined, { concurrency: 1 });
    const trainer = h.trainer('fake');
    const first = trainer.train('tabular-classifier', opts({ epochs: 1 }));
    const second = trainer.train('tabular-classifier', { ...opts({ epochs: 1 }), saveAs: { namespace: 'team', model: 'other' } });
    await expect.poll(async () => (await first.info()).status).toBe('running');
    expect((await second.info()).status).toBe('queued');
    expect(workers.spawned).toHaveLength(1);
    gate.resolve();
    await second.result();
    expect([(await first.info()).status, (await second.info()).status]).toEqual(['completed', 'completed']);
    expect(workers.spawned).toHaveLength(2);
  });

  it('cancels a running job: worker terminated, job canceled, version failed, result job-stopped', async () => {
    const hold = deferred();
    const workers = fake({ beforeEpoch: (epoch) => (epoch >= 2 ? hold.promise : Promise.resolve()) });
    const h = await registry();
    const job = h.trainer('fake').train('tabular-classifier', opts({ epochs: 5 }));
    await expect.poll(async () => (await job.info()).progress?.epoch).toBe(1);
    await job.cancel();
    expect(workers.spawned[0]!.terminated).toBe(true);
    const info = await job.info();
    expect(info.status).toBe('canceled');
    expect((await h.find('team/iris/1').catch(() => undefined))?.status).toBe('failed');
    await expect(job.result()).rejects.toMatchObject({ code: 'job-stopped' });
    expect((await job.wait()).status).toBe('canceled');
    await job.cancel(); // nothing happens to a finished job
  });

  it('cancels a queued job before it starts', async () => {
    const gate = deferred();
    const workers = fake({ beforeEpoch: () => gate.promise });
    const h = await registry(undefined, { concurrency: 1 });
    const trainer = h.trainer('fake');
    const first = trainer.train('tabular-classifier', opts({ epochs: 1 }));
    const second = trainer.train('tabular-classifier', opts({ epochs: 1 }));
    await second.cancel();
    expect((await second.info()).status).toBe('canceled');
    gate.resolve();
    await first.result();
    expect(workers.spawned).toHaveLength(1);
    expect((await second.info()).versionId).toBeNull();
  });

  it('captures a worker error on the job with its code, fails the version, leaves no worker', async () => {
    const workers = fake();
    const h = await registry();
    const job = h.trainer('fake').train('no-such-module', opts({ fail: true }));
    expect(await codeOf(job.result())).toBe('unknown-module');
    const info = await job.wait();
    expect(info.status).toBe('errored');
    expect(info.error).toMatchObject({ code: 'unknown-module' });
    expect((await h.find('team/iris/1').catch(() => undefined))?.status).toBe('failed');
    expect(workers.spawned[0]!.terminated).toBe(true);
  });

  it('errors a job whose worker dies, with code internal', async () => {
    const hold = deferred();
    const workers = fake({ beforeEpoch: () => hold.promise });
    const h = await registry();
    const job = h.trainer('fake').train('tabular-classifier', opts());
    await expect.poll(() => workers.spawned.length).toBe(1);
    workers.spawned[0]!.die();
    expect(await codeOf(job.result())).toBe('internal');
    expect((await job.info()).error?.message).toContain('boom');
  });

  it('refuses bad options and unknown types at the call', async () => {
    fake();
    const h = await registry();
    expect(() => h.trainer('nope')).toThrow(/Unknown trainer type "nope": the known types are .*"local"/);
    expect(() => h.trainer('local').train('tabular-classifier', { ...opts(), target: '' })).toThrow(/Invalid training options/);
    expect(() => h.trainer('local').train('tabular-classifier', { ...opts(), saveAs: { namespace: 'Bad NS', model: 'x' } })).toThrow(/namespace/);
    expect(() => h.trainer('local').train('', opts())).toThrow(/name a module/);
    expect(await h.jobs()).toEqual([]);
  });

  it('stops a job canceled from another registry instance at its next epoch', async () => {
    const release = deferred();
    const workers = fake({ beforeEpoch: (epoch) => (epoch === 2 ? release.promise : Promise.resolve()) });
    const a = await registry('cross-cancel');
    const job = a.trainer('fake').train('tabular-classifier', opts({ epochs: 10 }));
    await expect.poll(async () => (await job.info()).progress?.epoch).toBe(1);
    const b = await registry('cross-cancel');
    expect((await (await b.job(job.id)).info()).status).toBe('running'); // alive in a: not interrupted
    const fromB = await b.job(job.id);
    const waited = fromB.wait();
    await fromB.cancel();
    release.resolve();
    expect((await waited).status).toBe('canceled');
    await expect(job.result()).rejects.toMatchObject({ code: 'job-stopped' });
    expect(workers.spawned[0]!.terminated).toBe(true);
  });
});

describe('interrupted jobs', () => {
  it('marks a job interrupted on close and resumes it from its last checkpoint', async () => {
    const stopAt3 = deferred();
    fake({ beforeEpoch: (epoch) => (epoch === 4 ? stopAt3.promise : Promise.resolve()) });
    const a = await registry('resume');
    const job = a.trainer('fake').train('tabular-classifier', opts({ epochs: 6 }));
    await expect.poll(async () => (await job.info()).progress?.epoch).toBe(3);
    await a.close();
    open = open.filter((h) => h !== a);

    const workers = fake();
    const b = await registry('resume');
    const again = await b.trainer('fake').get(job.id);
    const info = await again.info();
    expect(info).toMatchObject({ status: 'interrupted', lastCheckpoint: { epoch: 2 } });
    await expect(again.result()).rejects.toMatchObject({ code: 'job-stopped' });
    // As if the page had closed before its record caught up with the metrics it logged.
    await b.db.jobs.update(job.id, { progress: null });
    const heard: number[] = [];
    again.onProgress((p) => heard.push(p.epoch));
    await again.resume();
    const version = await again.result();
    expect(workers.spawned[0]!.requests[0]!.resume?.epoch).toBe(2);
    expect(heard).toEqual([3, 4, 5, 6]);
    expect(Object.keys(workers.spawned[0]!.requests[0]!.resume!.files).sort()).toEqual(['model.json', 'weights.bin']);
    expect((await again.info()).status).toBe('completed');
    // Epochs 1–3 were logged by the first run; the resumed run logs 4–6, none twice.
    expect((await version.metricHistory('loss')).map((p) => p.step)).toEqual([1, 2, 3, 4, 5, 6]);
    expect((await version.checkpoints()).items.map((c) => c.handle)).toEqual(['epoch_2', 'epoch_4', 'epoch_6']);
    expect(await codeOf(again.resume())).toBe('invalid-argument');
  });

  it('marks queued and running jobs of a closed page interrupted on open, and resumes one with no checkpoint from the start', async () => {
    const a = await registry('crashed');
    const now = Date.now();
    const base = { type: 'train' as const, module: 'tabular-classifier', progress: null, submitted: now, started: now, completed: null, error: null };
    const request = { data: { rows }, target: 'y', params: { epochs: 2 }, backends: ['cpu' as const], checkpointEvery: 0, saveAs: { namespace: 'team', model: 'iris' } };
    await a.db.jobs.bulkAdd([
      { ...base, id: 'fake:1', status: 'running', request, versionId: null, lastCheckpoint: null, backend: null },
      { ...base, id: 'fake:2', status: 'queued', request, versionId: null, lastCheckpoint: null, backend: null },
    ]);
    const workers = fake();
    const b = await registry('crashed');
    expect((await b.jobs()).map((j) => j.status)).toEqual(['interrupted', 'interrupted']);
    const job = await b.trainer('fake').resume('fake:1');
    const version = await job.result();
    expect(workers.spawned[0]!.requests[0]!.resume).toBeUndefined();
    expect(version.status).toBe('ready');
    await (await b.job('fake:2')).cancel();
    expect((await b.job('fake:2').then((j) => j.info())).status).toBe('canceled');
  });
});

describe('retention', () => {
  it('purges finished jobs past retention on open, keeping interrupted training jobs', async () => {
    const a = await registry('retention');
    const old = Date.now() - 10_000;
    const base = { module: 'm', progress: null, submitted: old, started: old, error: null, versionId: null, lastCheckpoint: null, backend: null };
    await a.db.jobs.bulkAdd([
      { ...base, id: 'local:done', type: 'train', status: 'completed', completed: old, request: { ref: 'a/b' } },
      { ...base, id: 'local:fresh', type: 'train', status: 'errored', completed: Date.now(), request: { ref: 'a/b' } },
      { ...base, id: 'local:int-train', type: 'train', status: 'interrupted', completed: null, request: { ref: 'a/b' } },
      { ...base, id: 'local:int-predict', type: 'predict', status: 'interrupted', completed: null, request: { ref: 'a/b' } },
    ]);
    const b = await registry('retention', { retentionMs: 5_000 });
    expect((await b.jobs()).map((j) => j.id).sort()).toEqual(['local:fresh', 'local:int-train']);
    expect(await codeOf(b.job('local:done'))).toBe('job-not-found');
  });

  it('purges after a job ends', async () => {
    fake();
    const h = await registry(undefined, { retentionMs: 0 });
    const job = h.trainer('fake').train('tabular-classifier', opts({ epochs: 1 }));
    await job.result();
    await expect.poll(async () => (await h.jobs()).length).toBe(0);
  });

  it('refuses bad job options at open', async () => {
    expect(await codeOf(openRegistry({ name: 'bad-options', persist: false, jobs: { concurrency: 0 } }))).toBe('invalid-argument');
  });
});
