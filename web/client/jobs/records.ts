import { liveQuery } from 'dexie';
import type { HangarDb, JobRecord, JobStatus } from '../db.ts';

/** Statuses a job never leaves by itself. */
export const FINISHED: readonly JobStatus[] = ['completed', 'errored', 'canceled'];

/** Statuses of a job some page is (or was, until it closed) working on. */
export const ACTIVE: readonly JobStatus[] = ['queued', 'running'];

/** Statuses `wait()` returns at: finished, or interrupted (which only `resume` restarts). */
export const SETTLED: readonly JobStatus[] = [...FINISHED, 'interrupted'];

/**
 * Jobs live in this realm (page or worker), whatever registry instance runs them: a second
 * `openRegistry` in the same page must not take them for jobs of a page that closed.
 */
const liveHere = new Set<string>();

const lockName = (id: string) => `hangar-job:${id}`;

/**
 * Marks a job as alive in this page until the returned function is called: in this realm, and
 * with a Web Lock other tabs can see (a lock goes when its page closes, however it closes).
 */
export function holdJob(id: string): () => void {
  liveHere.add(id);
  let release: () => void = () => undefined;
  const held = new Promise<void>((resolve) => (release = resolve));
  const locks = typeof navigator === 'undefined' ? undefined : navigator.locks;
  void locks?.request(lockName(id), () => held).catch(() => undefined);
  return () => {
    liveHere.delete(id);
    release();
  };
}

/** Ids of jobs alive in this page or (by their Web Locks) in another tab. */
async function aliveJobs(): Promise<Set<string>> {
  const alive = new Set(liveHere);
  const locks = typeof navigator === 'undefined' ? undefined : navigator.locks;
  const held = await locks?.query().catch(() => undefined);
  for (const lock of held?.held ?? []) if (lock.name?.startsWith('hangar-job:')) alive.add(lock.name.slice('hangar-job:'.length));
  return alive;
}

/** The `jobs` table: small reads and writes, each its own transaction. */
export class JobRecords {
  constructor(readonly db: HangarDb) {}

  async add(record: JobRecord): Promise<void> {
    await this.db.jobs.add(record);
  }

  get(id: string): Promise<JobRecord | undefined> {
    return this.db.jobs.get(id);
  }

  /**
   * Applies `changes` when the job's status is one of `onlyIf` (any status without it) and
   * answers the record as it stands afterwards, changed or not; undefined when it is gone.
   */
  async update(id: string, changes: Partial<JobRecord>, onlyIf?: readonly JobStatus[]): Promise<JobRecord | undefined> {
    return this.db.transaction('rw', this.db.jobs, async () => {
      const row = await this.db.jobs.get(id);
      if (!row || (onlyIf && !onlyIf.includes(row.status))) return row;
      const next = { ...row, ...changes };
      await this.db.jobs.put(next);
      return next;
    });
  }

  /** Every job, newest first. */
  async list(): Promise<JobRecord[]> {
    return (await this.db.jobs.orderBy('submitted').toArray()).reverse();
  }

  /**
   * Jobs left queued or running by a page that has closed become `interrupted`. Jobs still
   * alive in this page or another tab are left alone. Answers how many were marked.
   */
  async markInterrupted(): Promise<number> {
    const alive = await aliveJobs();
    return this.db.transaction('rw', this.db.jobs, () =>
      this.db.jobs
        .where('status')
        .anyOf([...ACTIVE])
        .and((r) => !alive.has(r.id))
        .modify((r) => {
          r.status = 'interrupted';
        }),
    );
  }

  /**
   * Deletes finished jobs that ended more than `retentionMs` ago, and interrupted predictions
   * (which cannot resume) submitted that long ago. Answers how many went.
   */
  async purge(retentionMs: number, now = Date.now()): Promise<number> {
    const before = now - retentionMs;
    return this.db.jobs
      .where('status')
      .anyOf([...FINISHED, 'interrupted'])
      .and((r) => (r.status === 'interrupted' ? r.type === 'predict' && r.submitted <= before : (r.completed ?? r.submitted) <= before))
      .delete();
  }

  /** Calls `onChange` with the record now and after every change (another tab's too); answers an unsubscribe. */
  watch(id: string, onChange: (record: JobRecord | undefined) => void): () => void {
    const subscription = liveQuery(() => this.db.jobs.get(id)).subscribe({ next: onChange, error: () => undefined });
    return () => subscription.unsubscribe();
  }
}
