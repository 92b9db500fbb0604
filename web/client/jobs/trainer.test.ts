import 'fake-indexeddb/auto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { codeOf } from '../test-helpers.ts';
import { LIMITS } from '../../../shared/limits.ts';
import { JobRecords } from './records.ts';
import { fitReport } from './training.ts';
import { deferred, fakeTrainer as fake, testRegistries } from './test-fakes.ts';

const registries = testRegistries('trainer');
const registry = registries.open;
afterEach(() => void vi.restoreAllMocks());

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

  it('creates its version pending, marks it ready after its final files, and syncs both (DESIGN §3a)', async () => {
    const gate = deferred();
    fake({ beforeEpoch: (epoch) => (epoch === 2 ? gate.promise : Promise.resolve()) });
    const h = await registry();
    const job = h.trainer('fake').train('tabular-classifier', opts({ epochs: 2 }));
    await expect.poll(async () => (await job.info()).progress?.epoch).toBe(1);
    const versionId = (await job.info()).versionId!;
    expect((await h.db.versions.get(versionId))?.status).toBe('pending');
    expect(await h.find('team/iris').catch((err: { code: string }) => err.code)).toBe('version-not-found');
    gate.resolve();
    const version = await job.result();
    expect(version.status).toBe('ready');
    expect((await h.find('team/iris')).id).toBe(version.id);
    const statuses = (await h.db.outbox.toArray())
      .filter((m) => m.name.startsWith('version.') && (m.args as { status?: string }).status)
      .map((m) => `${m.name}:${(m.args as { status: string }).status}`);
    expect(statuses).toEqual(['version.create:pending', 'version.update:ready']);
    // The model files are stored before the version is marked ready.
    const outbox = (await h.db.outbox.toArray()).map((m) => m.name);
    expect(outbox.lastIndexOf('artifact.register')).toBeLessThan(outbox.lastIndexOf('version.update'));
  });

  it('marks its version failed through the outbox when canceled', async () => {
    const hold = deferred();
    fake({ beforeEpoch: (epoch) => (epoch >= 2 ? hold.promise : Promise.resolve()) });
    const h = await registry();
    const job = h.trainer('fake').train('tabular-classifier', opts({ epochs: 3 }));
    await expect.poll(async () => (await job.info()).progress?.epoch).toBe(1);
    await job.cancel();
    const last = (await h.db.outbox.toArray()).filter((m) => m.name === 'version.update').at(-1);
    expect(last?.args).toMatchObject({ status: 'failed' });
  });

  it('queues jobs beyond the concurrency limit and runs them in turn', async () => {
    const gate = deferred();
    const workers = fake({ beforeEpoch: () => gate.promise });
    const h = await registry(undefined, { concurrency: 1 });
    const trainer = h.trainer('fake');
    const first = trainer.train('tabular-classifier', opts({ epochs: 1 }));
    const second = trainer.train('tabular-classifier', { ...opts({ epochs: 1 }), saveAs: { namespace: 'team', model: 'other' } });
    await expect.poll(async () => (await first.info()).status).toBe('running');
    // The job is marked running just before its worker starts.
    await expect.poll(() => workers.spawned.length).toBe(1);
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
    const job = h.trainer('fake').train('tabular-classifier', opts({ fail: true }));
    expect(await codeOf(job.result())).toBe('unknown-module');
    const info = await job.wait();
    expect(info.status).toBe('errored');
    expect(info.error).toMatchObject({ code: 'unknown-module' });
    expect((await h.find('team/iris/1').catch(() => undefined))?.status).toBe('failed');
    expect(workers.spawned[0]!.terminated).toBe(true);
  });

  it('refuses data training would refuse before any model or version is made, and reports data before a job', async () => {
    const workers = fake();
    const h = await registry();
    const job = h.trainer('fake').train('tabular-classifier', opts({ badData: true }));
    expect(await codeOf(job.result())).toBe('invalid-dataset');
    expect((await job.wait()).error).toMatchObject({ code: 'invalid-dataset', message: expect.stringMatching(/"y" has one value/) });
    expect((await job.info()).versionId).toBeNull();
    expect(await h.find('team/iris/1').catch((err: { code: string }) => err.code)).toBe('model-not-found');
    expect(workers.spawned[0]!.terminated).toBe(true);

    const report = await h.trainer('fake').report('tabular-classifier', { data: rows, target: 'y' });
    expect(report).toMatchObject({ target: 'y', module: 'tabular-classifier' });
    expect(workers.spawned[1]!.terminated).toBe(true);
    expect(await codeOf(h.trainer('fake').report('tabular-classifier', { data: rows, target: 'y', params: { badData: true } }))).toBe('invalid-dataset');
    expect(await codeOf(h.trainer('fake').report('no-such-module', { data: rows, target: 'y' }))).toBe('unknown-module');
    const huge = { size: 1024 ** 3 } as Blob;
    Object.setPrototypeOf(huge, Blob.prototype);
    expect(await codeOf(h.trainer('fake').report('tabular-classifier', { data: huge, target: 'y' }))).toBe('payload-too-large');
    expect(() => h.trainer('fake').train('tabular-classifier', { ...opts(), data: huge })).toThrow(/limit is 512 MiB/);
  });

  it('stores the data report with the version it trained', async () => {
    fake();
    const h = await registry();
    const version = await h.trainer('fake').train('tabular-classifier', opts({ epochs: 1 })).result();
    expect((await version.metadata()).dataReport).toMatchObject({ format: 1, target: 'y', columns: [{ name: 'y', action: 'target' }] });
  });

  it('keeps a wide data report within one metadata value: the used columns, the others counted', () => {
    const column = (i: number) => ({ name: `c${i}`, type: 'categorical' as const, missing: 0, distinct: 30, action: 'one-hot' as const, reason: 'x'.repeat(200), feature: i % 2 === 0, values: Array.from({ length: 30 }, (_, k) => `value ${k}`) });
    const report = { format: 1 as const, module: 'm', target: 't', delimiter: ',', decimalComma: false, rows: 1, usedRows: 1, dropped: [], columns: Array.from({ length: 1000 }, (_, i) => column(i)), features: [] };
    const fitted = fitReport(report);
    expect(new TextEncoder().encode(JSON.stringify(fitted)).length).toBeLessThanOrEqual(LIMITS.metadataValueBytes);
    expect(fitted.columns.every((c) => c.feature)).toBe(true);
    expect(fitted.omittedColumns).toBe(1000 - fitted.columns.length);
    expect(fitReport({ ...report, columns: report.columns.slice(0, 3) })).toEqual({ ...report, columns: report.columns.slice(0, 3) });
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

  it('errors a job whose module cannot train at the call: no model, no version, no worker', async () => {
    const workers = fake();
    const h = await registry();
    const unknown = h.trainer('fake').train('no-such-module', opts());
    expect(await codeOf(unknown.result())).toBe('unknown-module');
    expect(await unknown.info()).toMatchObject({ status: 'errored', error: { code: 'unknown-module' }, versionId: null, started: null });
    expect((await unknown.info()).error?.message).toContain('tabular-classifier');
    const importOnly = h.trainer('fake').train('tfjs-import', opts());
    expect(await codeOf(importOnly.result())).toBe('invalid-argument');
    expect((await importOnly.wait()).status).toBe('errored');
    expect(await codeOf(h.model('team', 'iris'))).toBe('model-not-found');
    expect(workers.spawned).toEqual([]);
  });

  it('keeps the rest of the queue when a queued job whose record failed to be written is canceled', async () => {
    const gate = deferred();
    const workers = fake({ beforeEpoch: () => gate.promise });
    const h = await registry(undefined, { concurrency: 1 });
    const add = JobRecords.prototype.add;
    const refused = deferred();
    let adds = 0;
    vi.spyOn(JobRecords.prototype, 'add').mockImplementation(function (this: JobRecords, record) {
      return ++adds === 2 ? refused.promise : add.call(this, record);
    });
    const trainer = h.trainer('fake');
    const first = trainer.train('tabular-classifier', opts({ epochs: 1 }));
    const second = trainer.train('tabular-classifier', opts({ epochs: 1 }));
    const third = trainer.train('tabular-classifier', { ...opts({ epochs: 1 }), saveAs: { namespace: 'team', model: 'third' } });
    await expect.poll(() => workers.spawned.length).toBe(1);
    const canceled = second.cancel(); // off the queue at once; then its record fails to be written
    refused.reject(new Error('disk full'));
    await canceled;
    gate.resolve();
    await first.result();
    expect((await third.result()).status).toBe('ready');
    expect(workers.spawned).toHaveLength(2);
  });

  it('stops at its next epoch when another page marks its record interrupted, leaving its version to resume', async () => {
    const gate = deferred();
    const workers = fake({ beforeEpoch: (epoch) => (epoch === 3 ? gate.promise : epoch > 3 ? new Promise(() => undefined) : Promise.resolve()) });
    const h = await registry();
    const job = h.trainer('fake').train('tabular-classifier', opts({ epochs: 6 }));
    await expect.poll(async () => (await job.info()).progress?.epoch).toBe(2);
    await h.db.jobs.update(job.id, { status: 'interrupted' });
    gate.resolve();
    expect(await codeOf(job.result())).toBe('job-stopped');
    expect((await job.info()).status).toBe('interrupted');
    expect(workers.spawned[0]!.terminated).toBe(true);
    expect((await h.find('team/iris/1')).status).toBe('pending');
  });

  it('keeps a finished version ready when another page ends the record just before the job completes it', async () => {
    const workers = fake();
    const h = await registry();
    const update = JobRecords.prototype.update;
    vi.spyOn(JobRecords.prototype, 'update').mockImplementation(async function (this: JobRecords, id, changes, onlyIf) {
      // Another tab's cancel lands between the version becoming ready and the final record write.
      if (changes.status === 'completed') await update.call(this, id, { status: 'canceled', completed: Date.now() });
      return update.call(this, id, changes, onlyIf);
    });
    const job = h.trainer('fake').train('tabular-classifier', opts({ epochs: 2 }));
    expect(await codeOf(job.result())).toBe('job-stopped');
    expect((await job.info()).status).toBe('canceled');
    expect((await h.find('team/iris/1')).status).toBe('ready');
    expect(workers.spawned[0]!.terminated).toBe(true);
  });
});
