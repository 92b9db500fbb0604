import { LIMITS } from './limits.ts';

/**
 * `Retry-After` in ms from `now`: delay-seconds or an HTTP date (RFC 9110 §10.2.3). Undefined
 * when absent or unreadable.
 */
export function parseRetryAfter(header: string | null | undefined, now: number): number | undefined {
  if (header === null || header === undefined) return undefined;
  const text = header.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** What `honourRetryAfter` needs of an answer: its status and its Retry-After header. */
export interface RetryableAnswer {
  status: number;
  retryAfter: string | null | undefined;
}

// shared/ compiles without the DOM or Node typings; both give every runtime a setTimeout.
const timers = globalThis as unknown as { setTimeout(fn: () => void, ms: number): unknown };
const sleep = (ms: number) => new Promise<void>((resolve) => timers.setTimeout(resolve, ms));

/**
 * Sends a request again while the server answers `429 rate-limited`, each time after waiting
 * as its `Retry-After` says (DESIGN §4: clients wait as told instead of hammering), up to
 * `LIMITS.rateLimitRetries` times and `LIMITS.rateLimitMaxWaitS` per wait. Answers the last
 * answer, which is still a 429 when the server kept refusing: the caller reports it.
 */
export async function honourRetryAfter<R>(
  send: () => Promise<R>,
  read: (r: R) => RetryableAnswer,
  opts: { wait?: (ms: number) => Promise<void>; discard?: (r: R) => void } = {},
): Promise<R> {
  const wait = opts.wait ?? sleep;
  for (let tries = 0; ; tries++) {
    const answer = await send();
    const { status, retryAfter } = read(answer);
    if (status !== 429 || tries >= LIMITS.rateLimitRetries) return answer;
    opts.discard?.(answer);
    const ms = parseRetryAfter(retryAfter, Date.now()) ?? LIMITS.rateLimitRetryAfterS * 1000;
    await wait(Math.min(ms, LIMITS.rateLimitMaxWaitS * 1000));
  }
}
