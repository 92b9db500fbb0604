// What the sync figures' page (sync.ts) and their Node side (sync.bench-test.ts) share; nothing
// here imports browser-only code.

/** One metric point as every side carries it. */
export interface Row {
  id: string;
  parentId: string;
  key: string;
  value: number;
  step: number;
  wallclock: number;
}

export const KEYS = ['loss', 'accuracy', 'val/loss', 'val/accuracy', 'lr'] as const;
export const POINTS = 10_000;
export const STEPS = POINTS / KEYS.length;

export interface Server {
  /** The Worker under wrangler dev, without /api/v1. */
  url: string;
  /** A write token for every namespace, allowed from this page's origin. */
  token: string;
}

export interface SyncTiming {
  ms: number;
  /** The push requests' times (fetch start to last byte) summed, ms; 0 when none. */
  pushMs: number;
  pushes: number;
  /** The pull requests' times summed, ms. */
  pullMs: number;
  pulls: number;
}

/** The artifact of the upload figure: 256 MiB, as bench/browser/artifact.ts makes it. */
export const UPLOAD_SIZE = 256 * 2 ** 20;
