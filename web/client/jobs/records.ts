import { liveQuery } from 'dexie';
import type { HangarDb, JobRecord, JobStatus } from '../db.ts';

/** Statuses a job never leaves by itself. */
export const FINISHED: readonly JobStatus[] = ['completed', 'errored', 'canceled'];

/** Statuses of a job some page is (or was, until it closed) working on. */
export const ACTIVE: readonly JobStatus[] = ['queued', 'running'];

/** Statuses `wait()` returns at: finished, or interrupted (which only `resume` restarts). */
export const SETTLED: readonly JobStatus[] = [...FINISHED, 'interrupted'];

/**
 * Jobs held in this realm (page or worker), whatever registry instance runs them: a second
 * `openRegistry` in the same page must not take them for jobs of a page that closed, and two
 * registries of one page must not run the same job.
 */
const liveHere = new Set<string>();

export const lockName = (id: string) => `hangar-job:${id}`;

const lockManager = (): LockManager | undefined => (typeof navigator === 'undefined' ? undefined : navigator.locks);

/**
 * Takes a job for this page until the returned function is called: in this realm, and by the
 * job's Web Lock, which other tabs see and which goes when its page closes, however it closes.
 * Resolves once the lock is held, so a record written afterwards is never seen without it; resolves
 * undefined, taking nothing, when the job is held already (here, or by another tab). Without Web
 * Locks (Node) only this realm counts.
 */
export function holdJob(id: string): Promise<(() => void) | undefined> {
  if (liveHere.has(id)) return Promise.resolve(undefined);
  liveHere.add(id);
  let unlock: () => void = () => undefined;
  const held = new Promise<void>((resolve) => (unlock = resolve));
  const release = () => {
    liveHere.delete(id);
    unlock();
  };
  const locks = lockManager();
  if (!locks) return Promise.resolve(release);
  return new Promise((resolve) => {
    const granted = (lock: Lock | null) => {
      if (lock) {
        resolve(release);
        return held;
      }
      liveHere.delete(id);
      resolve(undefined);
      return undefined;
    };
    // A lock manager that refuses (an opaque origin) leaves this realm's mark alone to count.
    locks.request(lockName(id), { ifAvailable: true }, granted).catch(() => resolve(release));
  });
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
   * Applies `changes` when the job's status is one of `onlyIf` (any status without it). Answers
   * the record as changed, or undefined when nothing changed: the job is gone, or its status was
   * another (another page may have changed it first; read it again to see how).
   */
  async update(id: string, changes: Partial<JobRecord>, onlyIf?: readonly JobStatus[]): Promise<JobRecord | undefined> {
    return this.db.transaction('rw', this.db.jobs, async () => {
      const row = await this.db.jobs.get(id);
      if (!row || (onlyIf && !onlyIf.includes(row.status))) return undefined;
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
   * Jobs left queued or running by a page that has closed become `interrupted`. A job is marked
   * only while this page holds its lock, taken only if free: a job alive in this page or another
   * tab (which holds its lock from before its record was written) is left alone. Answers how many
   * were marked.
   */
  async markInterrupted(): Promise<number> {
    const ids = await this.db.jobs.where('status').anyOf([...ACTIVE]).primaryKeys();
    let marked = 0;
    for (const id of ids) {
      const release = await holdJob(id);
      if (!release) continue;
      try {
        if (await this.update(id, { status: 'interrupted', completed: Date.now() }, ACTIVE)) marked++;
      } finally {
        release();
      }
    }
    return marked;
  }

  /**
   * Deletes jobs that ended more than `retentionMs` ago: finished ones, and interrupted ones too
   * (an interrupted training job keeps its whole request, dataset included, so it is kept only
   * that long for a resume). A job ended at its `completed` time (for an interrupted job, when it
   * was stopped or found stopped), or else when it was submitted. Answers how many went.
   */
  async purge(retentionMs: number, now = Date.now()): Promise<number> {
    const before = now - retentionMs;
    return this.db.jobs
      .where('status')
      .anyOf([...SETTLED])
      .and((r) => (r.completed ?? r.submitted) <= before)
      .delete();
  }

  /** Calls `onChange` with the record now and after every change (another tab's too); answers an unsubscribe. */
  watch(id: string, onChange: (record: JobRecord | undefined) => void): () => void {
    const subscription = liveQuery(() => this.db.jobs.get(id)).subscribe({ next: onChange, error: () => undefined });
    return () => subscription.unsubscribe();
  }
}
