import type { Context } from 'hono';
import { ErrorCode, HangarError } from '../shared/errors.ts';
import { LIMITS } from '../shared/limits.ts';
import type { AppEnv } from './env.ts';

/**
 * DESIGN §4's rate limits, on Cloudflare's Rate Limiting binding: a request with a valid token
 * counts against that token (`TOKEN_RATE_LIMIT`), any other against its client address
 * (`ADDRESS_RATE_LIMIT`). Over the limit it is refused with `429 rate-limited` and
 * `Retry-After` (set by the one error path, worker/errors.ts).
 */
export async function checkRateLimit(c: Context<AppEnv>, by: { tokenId: string | null } | 'address'): Promise<void> {
  const [limiter, key] =
    by === 'address'
      ? [c.env.ADDRESS_RATE_LIMIT, `address:${clientAddress(c)}`]
      : [c.env.TOKEN_RATE_LIMIT, `token:${by.tokenId ?? 'admin'}`];
  if (!limiter) return;
  const { success } = await limiter.limit({ key });
  if (!success) {
    const retryAfter = LIMITS.rateLimitRetryAfterS;
    throw new HangarError(
      ErrorCode.RateLimited,
      `Too many requests ${by === 'address' ? 'from this address' : 'with this token'}; wait ${retryAfter} s and try again.`,
      { retryAfter },
    );
  }
}

/** The client's address as Cloudflare reports it; one shared key when there is none (local). */
const clientAddress = (c: Context<AppEnv>) => c.req.header('cf-connecting-ip') ?? 'unknown';
