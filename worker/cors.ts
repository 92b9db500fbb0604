import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from './env.ts';

const ALLOW_HEADERS = 'Authorization, Content-Type, Range, If-None-Match, If-Match';
/**
 * How long a browser may keep a preflight's answer: two hours, Chromium's own cap (a preflight
 * grants nothing by itself, see below), so a tab that pulls every few minutes asks it seldom.
 */
export const CORS_MAX_AGE_S = 7200;
const EXPOSE_HEADERS = 'Content-Range, Content-Length, Content-Disposition, Accept-Ranges, ETag, Location, Retry-After, X-Hangar-Error';

/**
 * CORS per token. A preflight carries no token, so it is answered for any origin: it grants
 * nothing by itself. The real request is then checked against the token's allowed origins by
 * `authenticate`, and only an allowed origin gets `Access-Control-Allow-Origin` back.
 */
export const cors: MiddlewareHandler<AppEnv> = async function cors(c, next) {
  const origin = c.req.header('origin');
  if (!origin) return next();
  if (c.req.method === 'OPTIONS') {
    return new Response(null, {
      status: 204,
      headers: {
        'Access-Control-Allow-Origin': origin,
        'Access-Control-Allow-Methods': 'GET, HEAD, POST, PUT, PATCH, DELETE',
        'Access-Control-Allow-Headers': c.req.header('access-control-request-headers') ?? ALLOW_HEADERS,
        'Access-Control-Max-Age': String(CORS_MAX_AGE_S),
        Vary: 'Origin',
      },
    });
  }
  await next();
  // A WebSocket upgrade's answer cannot take headers, and needs none of these.
  if (c.res.status === 101) return;
  const refused = c.res.status === 403 && c.res.headers.get('x-hangar-error') === 'origin-not-allowed';
  if (!refused) {
    c.res.headers.set('Access-Control-Allow-Origin', origin);
    c.res.headers.set('Access-Control-Expose-Headers', EXPOSE_HEADERS);
  }
  c.res.headers.append('Vary', 'Origin');
};
