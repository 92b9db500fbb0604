import { describe, expect, it } from 'vitest';
import { LIMITS } from './limits.ts';
import { honourRetryAfter, parseRetryAfter } from './retry-after.ts';

describe('honourRetryAfter', () => {
  const run = async (answers: { status: number; retryAfter?: string }[]) => {
    const waits: number[] = [];
    let sent = 0;
    const discarded: number[] = [];
    const last = await honourRetryAfter(
      async () => answers[Math.min(sent++, answers.length - 1)]!,
      (a) => ({ status: a.status, retryAfter: a.retryAfter }),
      { wait: async (ms) => void waits.push(ms), discard: (a) => void discarded.push(a.status) },
    );
    return { last, waits, sent, discarded };
  };

  it('sends again after each 429, waiting as told, and answers the first other answer', async () => {
    const r = await run([{ status: 429, retryAfter: '2' }, { status: 429, retryAfter: '0' }, { status: 200 }]);
    expect(r).toMatchObject({ last: { status: 200 }, waits: [2000, 0], sent: 3, discarded: [429, 429] });
  });

  it('waits the server default without a usable Retry-After, and at most the cap', async () => {
    const r = await run([{ status: 429 }, { status: 429, retryAfter: '3600' }, { status: 204 }]);
    expect(r.waits).toEqual([LIMITS.rateLimitRetryAfterS * 1000, LIMITS.rateLimitMaxWaitS * 1000]);
  });

  it('gives up after the allowed retries and answers the last 429 for the caller to report', async () => {
    const r = await run([{ status: 429, retryAfter: '1' }]);
    expect(r.sent).toBe(LIMITS.rateLimitRetries + 1);
    expect(r.last.status).toBe(429);
    expect(r.discarded).toHaveLength(LIMITS.rateLimitRetries);
  });

  it('leaves other answers alone', async () => {
    for (const status of [200, 400, 500, 503]) expect((await run([{ status, retryAfter: '5' }])).waits).toEqual([]);
    expect(parseRetryAfter(undefined, 0)).toBeUndefined();
  });
});
