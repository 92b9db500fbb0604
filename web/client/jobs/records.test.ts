import 'fake-indexeddb/auto';
import { deletePoints, metricTables, parentPoints } from '../metric-store.ts';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { openRegistry } from '../index.ts';
import { codeOf } from '../test-helpers.ts';
import { JobRecords, lockName } from './records.ts';
import { deferred, fakeLocks, fakeTrainer as fake, testRegistries, trainRecord } from './test-fakes.ts';

// Job records across pages: interrupted jobs and resume, Web Locks, following another page's
// job, retention. Two registries opened under one name stand for two tabs.
const registries = testRegistries('records');
const registry = registries.open;
afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllGlobals();
  vi.useRealTimers();
});

const rows = [
  { x: 1, y: 'a' },
  { x: 2, y: 'b' },
];
const opts = (params: Record<string, unknown> = {}) => ({ data: rows, target: 'y', params, saveAs: { namespace: 'team', model: 'iris' }, checkpointEvery: 2 });

describe('interrupted jobs', () => {
  it('marks a job interrupted on close and resumes it from its last checkpoint', async () => {
    const stopAt3 = deferred();
    fake({ beforeEpoch: (epoch) => (epoch === 4 ? stopAt3.promise : Promise.resolve()) });
    const a = await registry('resume');
    const job = a.trainer('fake').train('tabular-classifier', opts({ epochs: 6 }));
    await expect.poll(async () => (await job.info()).progress?.epoch).toBe(3);
    await registries.close(a);

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

  it('logs on resume the epochs whose points never reached storage, though its record had them', async () => {
    fake({ beforeEpoch: (epoch) => (epoch === 4 ? new Promise(() => undefined) : Promise.resolve()) });
    const a = await registry('lost-epoch');
    const job = a.trainer('fake').train('tabular-classifier', opts({ epochs: 5 }));
    await expect.poll(async () => (await job.info()).progress?.epoch).toBe(3);
    await registries.close(a);
    const b = await registry('lost-epoch');
    // The page closed after writing epoch 3's progress but before its points left the metric queue.
    const versionId = (await b.db.jobs.get(job.id))!.versionId!;
    const lost = (await parentPoints(b.db, versionId)).filter((p) => p.step === 3);
    await b.db.transaction('rw', metricTables(b.db), async () => deletePoints(b.db, versionId, lost));
    expect((await b.db.jobs.get(job.id))!.progress?.epoch).toBe(3);
    fake();
    const version = await (await b.trainer('fake').resume(job.id)).result();
    expect((await version.metricHistory('loss')).map((p) => p.step)).toEqual([1, 2, 3, 4, 5]);
  });

  it('runs a job resumed twice at once only once; another registry (tab) resuming it meanwhile is refused', async () => {
    const a = await registry('twice');
    await a.db.jobs.bulkAdd([trainRecord('fake:1', 'interrupted'), trainRecord('fake:2', 'interrupted')]);
    const workers = fake();
    const [one, two] = await Promise.all([a.trainer('fake').resume('fake:1'), a.trainer('fake').resume('fake:1')]);
    expect(two.id).toBe(one.id);
    await one.result();
    expect(workers.spawned).toHaveLength(1);

    const b = await registry('twice');
    const both = await Promise.allSettled([a.trainer('fake').resume('fake:2'), b.trainer('fake').resume('fake:2')]);
    expect(both.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    expect(both.find((r) => r.status === 'rejected')).toMatchObject({ reason: { code: 'invalid-argument' } });
    await (both.find((r) => r.status === 'fulfilled') as PromiseFulfilledResult<{ result(): Promise<unknown> }>).value.result();
    expect(workers.spawned).toHaveLength(2);
    expect(workers.spawned.map((w) => w.requests.length)).toEqual([1, 1]);
  });

  it('applies a conditional update once: the other of two at once answers undefined', async () => {
    const h = await registry();
    const records = new JobRecords(h.db);
    await records.add(trainRecord('fake:1', 'interrupted'));
    const both = await Promise.all([records.update('fake:1', { status: 'queued' }, ['interrupted']), records.update('fake:1', { status: 'queued' }, ['interrupted'])]);
    expect(both.filter(Boolean)).toHaveLength(1);
    expect(await records.update('fake:1', { status: 'running' })).toMatchObject({ status: 'running' });
    expect(await records.update('fake:ghost', { status: 'running' })).toBeUndefined();
  });

  it('marks queued and running jobs of a closed page interrupted on open, and resumes one with no checkpoint from the start', async () => {
    const a = await registry('crashed');
    await a.db.jobs.bulkAdd([trainRecord('fake:1', 'running'), trainRecord('fake:2', 'queued')]);
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

describe('Web Locks', () => {
  it("holds a job's lock before its record exists, and marks interrupted only jobs whose lock it can take", async () => {
    const locks = fakeLocks();
    vi.stubGlobal('navigator', { locks: locks.manager });
    const whenAdded: boolean[] = [];
    const whenMarked: boolean[] = [];
    const { add, update } = JobRecords.prototype;
    vi.spyOn(JobRecords.prototype, 'add').mockImplementation(function (this: JobRecords, record) {
      whenAdded.push(locks.isHeld(lockName(record.id)));
      return add.call(this, record);
    });
    vi.spyOn(JobRecords.prototype, 'update').mockImplementation(function (this: JobRecords, id, changes, onlyIf) {
      if (changes.status === 'interrupted') whenMarked.push(locks.isHeld(lockName(id)));
      return update.call(this, id, changes, onlyIf);
    });
    fake();
    const a = await registry('locks');
    const job = a.trainer('fake').train('tabular-classifier', opts({ epochs: 1 }));
    await job.result();
    expect(whenAdded).toEqual([true]);
    expect(locks.isHeld(lockName(job.id))).toBe(false);

    // Another tab's running job (its lock held there), and one a closed page left.
    const otherTab = await locks.hold(lockName('fake:other'));
    await a.db.jobs.bulkAdd([trainRecord('fake:other', 'running'), trainRecord('fake:orphan', 'running')]);
    const b = await registry('locks');
    expect((await b.db.jobs.get('fake:other'))!.status).toBe('running');
    expect((await b.db.jobs.get('fake:orphan'))!.status).toBe('interrupted');
    expect(whenMarked).toEqual([true]);
    expect(locks.isHeld(lockName('fake:orphan'))).toBe(false);
    // Nor can this tab resume the other tab's job behind its back.
    await a.db.jobs.update('fake:other', { status: 'interrupted' });
    expect(await codeOf(b.trainer('fake').resume('fake:other'))).toBe('invalid-argument');
    otherTab.release();
  });
});

describe('following a job of another page', () => {
  it('stops its live query once the job finishes', async () => {
    let watching = 0;
    const { watch } = JobRecords.prototype;
    vi.spyOn(JobRecords.prototype, 'watch').mockImplementation(function (this: JobRecords, id, onChange) {
      watching++;
      const stop = watch.call(this, id, onChange);
      return () => {
        watching--;
        stop();
      };
    });
    const gate = deferred();
    fake({ beforeEpoch: (epoch) => (epoch === 2 ? gate.promise : Promise.resolve()) });
    const a = await registry('follow');
    const job = a.trainer('fake').train('tabular-classifier', opts({ epochs: 3 }));
    await expect.poll(async () => (await job.info()).progress?.epoch).toBe(1);
    const b = await registry('follow');
    const heard: number[] = [];
    (await b.job(job.id)).onProgress((p) => heard.push(p.epoch));
    expect(watching).toBe(1);
    gate.resolve();
    await job.result();
    await expect.poll(() => watching).toBe(0);
    expect(heard.length).toBeGreaterThan(0);
    expect(heard.every((e) => e >= 2 && e <= 3)).toBe(true);
  });
});

describe('retention', () => {
  it('purges finished and interrupted jobs past retention on open', async () => {
    const a = await registry('retention');
    const old = Date.now() - 10_000;
    const base = { module: 'm', progress: null, submitted: old, started: old, error: null, versionId: null, lastCheckpoint: null, backend: null };
    await a.db.jobs.bulkAdd([
      { ...base, id: 'local:done', type: 'train', status: 'completed', completed: old, request: { ref: 'a/b' } },
      { ...base, id: 'local:fresh', type: 'train', status: 'errored', completed: Date.now(), request: { ref: 'a/b' } },
      { ...base, id: 'local:int-train', type: 'train', status: 'interrupted', completed: null, request: { ref: 'a/b' } },
      { ...base, id: 'local:int-train-recent', type: 'train', status: 'interrupted', completed: Date.now(), request: { ref: 'a/b' } },
      { ...base, id: 'local:int-predict', type: 'predict', status: 'interrupted', completed: null, request: { ref: 'a/b' } },
      { ...base, id: 'local:running', type: 'train', status: 'running', completed: null, request: { ref: 'a/b' } },
    ]);
    await registries.close(a);
    const b = await registry('retention', { retentionMs: 5_000 });
    // The running job a closed page left is found interrupted now, so it is kept for a resume.
    expect((await b.jobs()).map((j) => [j.id, j.status]).sort()).toEqual([
      ['local:fresh', 'errored'],
      ['local:int-train-recent', 'interrupted'],
      ['local:running', 'interrupted'],
    ]);
    expect(await codeOf(b.job('local:done'))).toBe('job-not-found');
  });

  it('purges after a job ends', async () => {
    fake();
    const h = await registry(undefined, { retentionMs: 0 });
    const job = h.trainer('fake').train('tabular-classifier', opts({ epochs: 1 }));
    await job.result();
    await expect.poll(async () => (await h.jobs()).length).toBe(0);
  });

  it('purges on a timer while open (every quarter of the retention, at least a minute), until closed', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const h = await registry(undefined, { retentionMs: 1_000 });
    const old = Date.now() - 10_000;
    await h.db.jobs.add(trainRecord('local:old', 'completed', { submitted: old, completed: old }));
    vi.advanceTimersByTime(59_000);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect((await h.jobs()).map((j) => j.id)).toEqual(['local:old']);
    vi.advanceTimersByTime(1_000);
    await expect.poll(async () => (await h.jobs()).length).toBe(0);
    expect(vi.getTimerCount()).toBe(1);
    await registries.close(h);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('refuses bad job options at open', async () => {
    expect(await codeOf(openRegistry({ name: 'bad-options', persist: false, jobs: { concurrency: 0 } }))).toBe('invalid-argument');
  });
});
