import 'fake-indexeddb/auto';
import { afterEach, describe, expect, it } from 'vitest';
import { formatHlc } from '../../../shared/hlc.ts';
import type { Change } from '../../../shared/sync.ts';
import { openRegistry, type Hangar } from '../index.ts';
import { applyChanges, applyTables, pendingOf } from '../sync/apply.ts';
import { codeOf } from '../test-helpers.ts';

let open: Hangar[] = [];
let n = 0;
async function registry(): Promise<Hangar> {
  const h = await openRegistry({ name: `remote-${Date.now()}-${n++}`, persist: false });
  open.push(h);
  return h;
}
afterEach(async () => {
  await Promise.all(open.map((h) => h.close()));
  open = [];
});

const hlc = () => formatHlc(Date.now(), 0, 'server');
const pull = (h: Hangar, changes: Omit<Change, 'seq' | 'hlc'>[]) =>
  h.db.transaction('rw', applyTables(h.db), () => applyChanges(h.db, 'team', changes.map((c, i) => ({ ...c, seq: i + 1, hlc: hlc() })), pendingOf([])));

const EXP = '0190a3f0-0000-7000-8000-0000000000e1';
const RUN = '0190a3f0-0000-7000-8000-0000000000a1';

/** What pulling an MLflow run from CI brings: an experiment, a pending run with MLflow's start time, params, metric points. */
async function pulledRun(h: Hangar, params: Record<string, string>, steps: number[]) {
  await pull(h, [
    { entity: 'model', entityId: EXP, op: 'create', data: { name: 'churn-exp', kind: 'experiment' } },
    { entity: 'version', entityId: RUN, op: 'create', data: { modelId: EXP, number: 1, status: 'pending', name: 'ci-run' } },
    { entity: 'metadata', entityId: RUN, op: 'set', data: { key: 'hangar.mlflow.start_time', value: 1_700_000_000_000 } },
    ...Object.entries(params).map(([key, value]) => ({ entity: 'param' as const, entityId: RUN, op: 'set', data: { key, value } })),
    {
      entity: 'metrics',
      entityId: RUN,
      op: 'log',
      data: { points: steps.map((step) => ({ id: `${RUN}-${step}`, key: 'loss', value: 1 / (step + 1), step, wallclock: 1_700_000_000_000 + step })) },
    },
  ]);
}

describe('the remote trainer', () => {
  it('lists an MLflow run synced in as a running job, with progress from its last step against a total param', async () => {
    const h = await registry();
    // A run made here, in an experiment, is no remote job: it has no MLflow start time.
    await (await h.newExperiment({ namespace: 'team', name: 'local-exp' })).newVersion({ status: 'pending' });
    await pulledRun(h, { epochs: '10', lr: '0.01' }, [0, 1, 2, 3]);
    const jobs = await h.jobs();
    expect(jobs.map((j) => j.id)).toEqual([`remote:${RUN}`]);
    expect(jobs[0]).toMatchObject({ type: 'train', status: 'running', module: 'team/churn-exp', versionId: RUN, progress: { epoch: 3, epochs: 10, metrics: { loss: 0.25 } } });
    expect(jobs[0]!.started).toBe(new Date(1_700_000_000_000).toISOString());
    const job = await h.job(`remote:${RUN}`);
    expect((await job.info()).status).toBe('running');
    expect(h.trainer('REMOTE').type).toBe('remote');
  });

  it('without a total param, progress is the last step with epochs 0', async () => {
    const h = await registry();
    await pulledRun(h, { lr: '0.01' }, [0, 5]);
    expect((await h.jobs())[0]!.progress).toEqual({ epoch: 5, epochs: 0, metrics: { loss: 1 / 6 } });
  });

  it('follows the run through sync: onProgress on new steps, wait and result once it finishes', async () => {
    const h = await registry();
    await pulledRun(h, { max_steps: '100' }, [0, 10]);
    const job = await h.job(`remote:${RUN}`);
    const seen: number[] = [];
    const stop = job.onProgress((p) => seen.push(p.epoch));
    const waited = job.wait();
    const result = job.result();
    await pull(h, [{ entity: 'metrics', entityId: RUN, op: 'log', data: { points: [{ id: `${RUN}-50`, key: 'loss', value: 0.1, step: 50, wallclock: 1 }] } }]);
    await expect.poll(() => seen).toEqual([50]);
    await pull(h, [
      { entity: 'metadata', entityId: RUN, op: 'set', data: { key: 'hangar.mlflow.status', value: 'FINISHED' } },
      { entity: 'version', entityId: RUN, op: 'status', data: { status: 'ready' } },
    ]);
    const info = await waited;
    expect(info).toMatchObject({ status: 'completed', progress: { epoch: 100, epochs: 100 } });
    expect(info.completed).not.toBeNull();
    const v = (await result) as { id: string; model: string; status: string };
    expect([v.id, v.model, v.status]).toEqual([RUN, 'churn-exp', 'ready']);
    stop();
  });

  it('a failed run is errored with no result; cancel marks a running run KILLED, as MLflow does, and pushes it', async () => {
    const h = await registry();
    await pulledRun(h, {}, []);
    const job = await h.job(`remote:${RUN}`);
    await job.cancel();
    const info = await job.info();
    expect(info.status).toBe('canceled');
    expect(await codeOf(job.result())).toBe('job-stopped');
    const run = await (await h.model('team', 'churn-exp')).version(1);
    expect(run.status).toBe('failed');
    expect((await run.metadata())['hangar.mlflow.status']).toBe('KILLED');
    const outbox = (await h.db.outbox.toArray()).map((m) => [m.name, m.args]);
    expect(outbox).toEqual([
      ['version.update', { id: RUN, fields: {}, status: 'failed' }],
      ['metadata.set', { parentId: RUN, key: 'hangar.mlflow.status', value: 'KILLED' }],
      ['metadata.set', { parentId: RUN, key: 'hangar.mlflow.end_time', value: expect.any(Number) }],
    ]);
    // Canceling again changes nothing.
    await job.cancel();
    expect(await h.db.outbox.count()).toBe(3);

    const h2 = await registry();
    await pulledRun(h2, {}, [1]);
    await pull(h2, [{ entity: 'version', entityId: RUN, op: 'status', data: { status: 'failed' } }]);
    const failed = await h2.job(`remote:${RUN}`);
    expect(await failed.info()).toMatchObject({ status: 'errored', error: { code: 'job-stopped' } });
    expect(await codeOf(failed.result())).toBe('job-stopped');
  });

  it('refuses to start training, and answers job-not-found for anything but a run synced in', async () => {
    const h = await registry();
    expect(() => h.trainer('remote').train('m', {} as never)).toThrow(/does not start training/);
    expect(await codeOf(h.job('remote:0190a3f0-0000-7000-8000-000000000000'))).toBe('job-not-found');
    const local = await (await h.newExperiment({ namespace: 'team', name: 'e' })).newVersion();
    expect(await codeOf(h.job(`remote:${local.id}`))).toBe('job-not-found');
  });
});
