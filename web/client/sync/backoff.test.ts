import { describe, expect, it } from 'vitest';
import { ErrorCode, HangarError } from '../../../shared/errors.ts';
import { BACKOFF_MAX_MS, classifyFailure, summarize } from './backoff.ts';
import { NetworkError, parseRetryAfter } from './http.ts';

describe('Retry-After', () => {
  it('reads delay-seconds and HTTP dates, and nothing else', () => {
    const now = Date.parse('2026-12-01T10:00:00Z');
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter('Tue, 01 Dec 2026 10:01:30 GMT', now)).toBe(90_000);
    expect(parseRetryAfter('Tue, 01 Dec 2026 09:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
  });
});

describe('what a failed round means', () => {
  const rateLimited = (retryAfterMs?: number) => new HangarError(ErrorCode.RateLimited, 'slow down', retryAfterMs === undefined ? {} : { retryAfterMs });

  it('offline: not online, exponential backoff with jitter, capped', () => {
    const f = classifyFailure(new NetworkError('down'), 3, () => 0);
    expect(f).toMatchObject({ code: 'offline', online: false, retryInMs: 2000 });
    expect(classifyFailure(new NetworkError('down'), 3, () => 0.999).retryInMs).toBeLessThanOrEqual(4000);
    expect(classifyFailure(new NetworkError('down'), 40, () => 1).retryInMs).toBe(BACKOFF_MAX_MS);
  });

  it('5xx: online, the same backoff', () => {
    const f = classifyFailure(new HangarError(ErrorCode.Internal, 'boom', { status: 503 }), 1, () => 0);
    expect(f).toMatchObject({ code: 'internal', online: true, updateNeeded: false, retryInMs: 500 });
  });

  it('429: online, never sooner than Retry-After, even past the usual cap', () => {
    for (const r of [0, 0.5, 1]) expect(classifyFailure(rateLimited(300_000), 1, () => r).retryInMs).toBeGreaterThanOrEqual(300_000);
    expect(classifyFailure(rateLimited(), 2, () => 0)).toMatchObject({ online: true, retryInMs: 1000 });
  });

  it('a protocol the server does not speak stops the rounds', () => {
    expect(classifyFailure(new HangarError(ErrorCode.ProtocolUnsupported, 'update'), 1)).toMatchObject({ updateNeeded: true, retryInMs: undefined });
  });

  it('sums up failed namespaces: the first one\'s code, each listed, online if any reached the server', () => {
    const f = summarize(
      [
        { namespace: 'a', error: new HangarError(ErrorCode.PermissionDenied, 'no') },
        { namespace: 'b', error: new NetworkError('down') },
      ],
      1,
      () => 0,
    );
    expect(f).toMatchObject({ code: 'permission-denied', online: true, details: { namespaces: { a: { code: 'permission-denied' }, b: { code: 'offline' } } } });
    expect(f.message).toBe('no (1 more namespace failed: b)');
  });
});
