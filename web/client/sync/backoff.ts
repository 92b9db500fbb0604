import { ErrorCode, HangarError } from '../../../shared/errors.ts';
import { NetworkError } from './http.ts';

/** The longest wait between failed rounds (a Retry-After may ask for more, and is obeyed). */
export const BACKOFF_MAX_MS = 60_000;
/** The first wait after a failure. */
export const BACKOFF_BASE_MS = 1000;

/** What a failed round means for the status and the next round. */
export interface Failure {
  code: string;
  message: string;
  details?: Record<string, unknown>;
  /** The server was reached (a 4xx, 5xx or 429 answer) or not (offline, refused, dropped). */
  online: boolean;
  /** The server speaks a newer protocol: rounds stop until the app is updated. */
  updateNeeded: boolean;
  /** When to try again; undefined: not before something else prompts it. */
  retryInMs: number | undefined;
}

/**
 * Tells offline, 5xx, 429 and other refusals apart. Offline and 5xx back off exponentially
 * with jitter (offline also retries on the `online` event); a 429 waits at least its
 * Retry-After; a protocol the server does not speak stops.
 */
export function classifyFailure(err: unknown, failures: number, random: () => number = Math.random): Failure {
  const backoff = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** Math.max(0, failures - 1));
  // Between half and all of it, so many clients that failed together do not retry together.
  const jittered = backoff / 2 + (random() * backoff) / 2;
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof NetworkError) return { code: 'offline', message, online: false, updateNeeded: false, retryInMs: jittered };
  if (!(err instanceof HangarError)) return { code: ErrorCode.Internal, message, online: true, updateNeeded: false, retryInMs: jittered };
  const base = { code: err.code, message, ...(err.details ? { details: err.details } : {}), online: true };
  if (err.code === ErrorCode.ProtocolUnsupported) return { ...base, updateNeeded: true, retryInMs: undefined };
  if (err.code === ErrorCode.RateLimited) {
    const told = Number(err.details?.retryAfterMs);
    // As told, never sooner; with no usable Retry-After, the usual backoff.
    return { ...base, updateNeeded: false, retryInMs: Number.isFinite(told) && told >= 0 ? told + random() * BACKOFF_BASE_MS : jittered };
  }
  return { ...base, updateNeeded: false, retryInMs: jittered };
}

/** The failure of a round in which some namespaces failed: the first one's, the others listed. */
export function summarize(failed: { namespace: string; error: unknown }[], failures: number, random?: () => number): Failure {
  const each = failed.map((f) => ({ namespace: f.namespace, ...classifyFailure(f.error, failures, random) }));
  const first = each[0]!;
  const waits = each.map((f) => f.retryInMs).filter((w): w is number => w !== undefined);
  return {
    ...first,
    // The first failure's own words (what `syncNow` rejects with); the others named after it.
    message: each.length > 1 ? `${first.message} (${each.length - 1} more namespace${each.length > 2 ? 's' : ''} failed: ${each.slice(1).map((f) => f.namespace).join(', ')})` : first.message,
    details: { ...first.details, namespaces: Object.fromEntries(each.map((f) => [f.namespace, { code: f.code, message: f.message }])) },
    // Offline only when no namespace reached the server.
    online: each.some((f) => f.online),
    updateNeeded: each.some((f) => f.updateNeeded),
    retryInMs: waits.length ? Math.max(...waits) : undefined,
  };
}

