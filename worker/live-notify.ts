import type { Context, MiddlewareHandler } from 'hono';
import type { AppEnv } from './env.ts';
import { liveHub } from './live.ts';

/**
 * Work to finish after the answer is sent (`waitUntil`): a failure there is logged and never
 * fails or delays the request.
 */
export function afterResponse(c: Context<AppEnv>, work: Promise<unknown>): void {
  const settled = work.catch((err: unknown) => console.error('after-response work failed', err));
  try {
    c.executionCtx.waitUntil(settled);
  } catch {
    // No execution context (called outside a request): the promise still runs.
  }
}

/** A part of an upload: it writes bytes and its upload's row, never the change log. */
export const isUploadPart = (path: string) => /\/blobs\/uploads\/[^/]+\/parts\/[^/]+$/.test(path);

/**
 * After a write under `/namespaces/{ns}/…` has answered (its D1 batch committed), tells the
 * namespace's live hub, which pokes the open sockets if the change log moved. Reads change
 * nothing and tell nobody.
 */
export const notifyLive: MiddlewareHandler<AppEnv> = async function notifyLive(c, next) {
  await next();
  const method = c.req.method;
  if (method === 'GET' || method === 'HEAD' || method === 'OPTIONS' || c.res.status >= 400) return;
  // A part of an upload writes bytes, never the change log: no need to wake the hub for each.
  if (isUploadPart(c.req.path)) return;
  const ns = c.req.param('ns');
  if (ns) afterResponse(c, liveHub(c.env, ns).changed(ns));
};
