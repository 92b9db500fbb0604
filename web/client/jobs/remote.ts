import { liveQuery } from 'dexie';
import { ErrorCode, HangarError } from '../../../shared/errors.ts';
import { paramNumber } from '../../../shared/params.ts';
import { RUN_KEY_END_TIME, RUN_KEY_START_TIME, RUN_KEY_STATUS, runStatusOf, type RunStatus } from '../../../shared/runs.ts';
import type { JobStatus, VersionRecord } from '../db.ts';
import { paramsOf } from '../params.ts';
import { metricTables } from '../metric-store.ts';
import { liveMetadata, metricSummary } from '../parent.ts';
import { versionById, type VersionHandle } from '../version.ts';
import type { FactoryContext } from './context.ts';
import { Job, type JobHost, type JobInfo, type JobProgress } from './job.ts';
import { noResult } from './runner.ts';
import type { Trainer } from './trainer.ts';

/**
 * The params that say how far a run goes, first found wins: its last logged step is its progress
 * against this total (`max_steps` counts steps, the others epochs; either way the step MLflow's
 * client logs metrics at is compared with it).
 */
export const REMOTE_PROGRESS_PARAMS = ['max_steps', 'total_steps', 'num_train_epochs', 'epochs', 'num_epochs', 'n_epochs', 'max_epochs', 'max_iter', 'n_estimators'] as const;

const STATUS: Record<RunStatus, JobStatus> = { RUNNING: 'running', SCHEDULED: 'queued', FINISHED: 'completed', FAILED: 'errored', KILLED: 'canceled' };
const ENDED: JobStatus[] = ['completed', 'errored', 'canceled'];

const PREFIX = 'remote:';

/** A trainer that can be followed but not started here: `remote`'s jobs answer `job.info()` and the rest, and `train` is refused. */
export interface RemoteTrainer extends Trainer {
  /** Every remote job kept: runs still running, and runs ended within the jobs' retention time. */
  jobs(): Promise<JobInfo[]>;
}

/**
 * The `remote` trainer (DESIGN §1 "Model management", caikit's futures over Steamship's external
 * training): a run that trains elsewhere — an MLflow run of an experiment, created through
 * MLflow's routes (it carries MLflow's start time) and synced in — is a job `remote:<run id>`
 * beside this page's own: `info()` (status from the run's, progress from its last logged step
 * against a total param, see {@link REMOTE_PROGRESS_PARAMS}), `onProgress`, `wait()` and
 * `result()` follow it through sync; `cancel()` marks the run KILLED, as MLflow's `runs/update`
 * does, and that syncs. Nothing is kept in the job table: a remote job is its run.
 */
export function remoteTrainer(ctx: FactoryContext): RemoteTrainer {
  const db = ctx.client.db;
  const runIdOf = (id: string) => (typeof id === 'string' && id.startsWith(PREFIX) ? id.slice(PREFIX.length) : '');
  const notFound = (id: string) => new HangarError(ErrorCode.JobNotFound, `No remote job "${id}": no MLflow run ${runIdOf(id) || id} of an experiment is held here.`, { job: id });

  /** The run a job id names, when it is an MLflow run of a live experiment held here. */
  async function runRecord(id: string): Promise<VersionRecord | undefined> {
    const runId = runIdOf(id);
    const row = runId ? await db.versions.get(runId) : undefined;
    if (!row || row.deletedAt !== null) return undefined;
    const model = await db.models.get(row.modelId);
    if (!model || model.deletedAt !== null || model.kind !== 'experiment') return undefined;
    const started = await db.metadata.get([row.id, RUN_KEY_START_TIME]);
    return started && !started.deleted ? row : undefined;
  }

  async function infoOf(row: VersionRecord): Promise<JobInfo> {
    const [metadata, params, summary, model] = await Promise.all([liveMetadata(db, row.id), paramsOf(db, row.id), metricSummary(ctx.client, row.id), db.models.get(row.modelId)]);
    const status = STATUS[runStatusOf(row.status, metadata)];
    const totalKey = REMOTE_PROGRESS_PARAMS.find((k) => params[k] !== undefined && (paramNumber(params[k]!) ?? 0) > 0);
    const total = totalKey ? Math.floor(paramNumber(params[totalKey]!)!) : 0;
    const keys = Object.keys(summary);
    let progress: JobProgress | null = null;
    if (keys.length) {
      const lastStep = Math.max(...keys.map((k) => summary[k]!.lastStep ?? 0));
      // With no total known, `epochs` is 0 and `epoch` the last step logged.
      const epoch = total ? (status === 'completed' ? total : Math.min(lastStep, total)) : lastStep;
      progress = { epoch, epochs: total, metrics: Object.fromEntries(keys.map((k) => [k, summary[k]!.last])) };
    }
    const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : null);
    const started = num(metadata[RUN_KEY_START_TIME]) ?? row.createdAt;
    const ended = ENDED.includes(status) ? (num(metadata[RUN_KEY_END_TIME]) ?? row.updatedAt) : null;
    return {
      id: PREFIX + row.id,
      type: 'train',
      module: model ? `${model.namespace}/${model.name}` : '',
      status,
      progress,
      submitted: new Date(started).toISOString(),
      started: new Date(started).toISOString(),
      completed: ended === null ? null : new Date(ended).toISOString(),
      error: status === 'errored' ? { code: ErrorCode.JobStopped, message: `The run failed where it trained (MLflow status ${metadata[RUN_KEY_STATUS] ?? 'FAILED'}).` } : null,
      versionId: row.id,
      lastCheckpoint: null,
      backend: null,
    };
  }

  async function info(id: string): Promise<JobInfo> {
    const row = await runRecord(id);
    if (!row) throw notFound(id);
    return infoOf(row);
  }

  /** Calls `next` with the job's state now and after every change to its run, until `stop`. */
  function watch(id: string, next: (info: JobInfo) => void | Promise<void>, fail: (err: unknown) => void): () => void {
    const sub = liveQuery(() => info(id)).subscribe({ next, error: fail });
    return () => sub.unsubscribe();
  }

  const host: JobHost<VersionHandle> = {
    info,
    onProgress(id, listener) {
      // The progress the job has now, read in one transaction begun at this call, so a step
      // synced in after it is heard even if the watch's first reading already includes it.
      const baseline = db.transaction('r', [db.versions, db.models, db.metadata, db.params, ...metricTables(db)], () => info(id)).then(
        (i) => i.progress?.epoch ?? -1,
        () => -1,
      );
      let last: number | undefined;
      let stop: (() => void) | undefined;
      let done = false;
      stop = watch(
        id,
        async (i) => {
          last ??= await baseline;
          if (done) return;
          const p = i.progress;
          if (p && p.epoch !== last) {
            last = p.epoch;
            listener(p);
          }
          if (ENDED.includes(i.status)) {
            done = true;
            stop?.();
          }
        },
        () => {
          done = true;
          stop?.();
        },
      );
      if (done) stop();
      return () => {
        done = true;
        stop?.();
      };
    },
    wait(id) {
      return new Promise<JobInfo>((resolve, reject) => {
        let done = false;
        let stop: (() => void) | undefined;
        const finish = (then: () => void) => {
          done = true;
          stop?.();
          then();
        };
        stop = watch(
          id,
          (i) => {
            if (!done && ENDED.includes(i.status)) finish(() => resolve(i));
          },
          (err) => {
            if (!done) finish(() => reject(err));
          },
        );
        if (done) stop();
      });
    },
    async result(id) {
      const i = await host.wait(id);
      if (i.status !== 'completed') throw noResult(i);
      const v = await versionById(ctx.client, i.versionId!);
      if (!v) throw notFound(id);
      return v;
    },
    async cancel(id) {
      const row = await runRecord(id);
      if (!row) throw notFound(id);
      const v = await versionById(ctx.client, row.id);
      if (!v || v.status !== 'pending') return;
      // What MLflow's `runs/update` with KILLED stores: the version failed, the MLflow status and end time kept.
      await v.update({ status: 'failed', metadata: { [RUN_KEY_STATUS]: 'KILLED', [RUN_KEY_END_TIME]: Date.now() } });
    },
    async resume(id) {
      throw new HangarError(ErrorCode.InvalidArgument, `Job "${id}" trains elsewhere: resume its run where it runs.`, { job: id });
    },
  };

  const refuse = (what: string) =>
    new HangarError(ErrorCode.InvalidArgument, `The remote trainer does not ${what} here: start a run with MLflow's client against this registry's server; it shows as a remote job once synced.`);

  return {
    type: ctx.type,
    train() {
      throw refuse('start training');
    },
    async report() {
      throw refuse('report on data');
    },
    async resume(id) {
      return host.resume(id) as never;
    },
    async get(id) {
      await info(id);
      return new Job(id, host);
    },
    async jobs() {
      const experiments = (await db.models.toArray()).filter((m) => m.kind === 'experiment' && m.deletedAt === null);
      const out: JobInfo[] = [];
      const now = Date.now();
      for (const m of experiments) {
        for (const v of await db.versions.where('modelId').equals(m.id).toArray()) {
          const row = await runRecord(PREFIX + v.id);
          if (!row) continue;
          const i = await infoOf(row);
          if (i.completed === null || now - Date.parse(i.completed) <= ctx.settings.retentionMs) out.push(i);
        }
      }
      return out;
    },
    async close() {},
  };
}
