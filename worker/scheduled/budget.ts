/**
 * D1 queries one sweep step may spend. The scheduled handler gives each step its share of one
 * invocation's `LIMITS.d1QueriesPerInvocation`, so the whole run fits however much there is to
 * do; a step that runs out stops where it is, and the next run goes on from there.
 */
export class SweepBudget {
  constructor(private left: number) {}
  /** Takes `n` queries if that many are left. */
  take(n = 1): boolean {
    if (this.left < n) return false;
    this.left -= n;
    return true;
  }
  get remaining(): number {
    return this.left;
  }
}

/** What a sweep step needs: the bindings, the run's time, its budget and how many items it may handle. */
export interface SweepCtx {
  env: Pick<Env, 'DB' | 'BLOBS' | 'WEBHOOKS'>;
  /** The run's time (the Cron Trigger's scheduled time), in ms. */
  now: number;
  budget: SweepBudget;
  /** Items (entries, blobs, uploads, rows, namespaces) the step handles at most in this run. */
  limit: number;
}

export const HOUR_MS = 60 * 60 * 1000;
export const DAY_MS = 24 * HOUR_MS;
