import { expect } from 'vitest';
import { fetchLimited } from './d1-limits.ts';

/** The admin token the test config binds as HANGAR_ADMIN_TOKEN. */
export const ADMIN = 'hgr_test_admin_token';

export interface Reply<T = any> {
  status: number;
  body: T;
  headers: Headers;
  /** D1 queries the Worker made for this request (production allows LIMITS.d1QueriesPerInvocation). */
  queries: number;
  /** Round trips to D1 those queries took (a batch is one). */
  roundTrips: number;
}

/**
 * Calls the API in the same workerd, as a client over HTTP would, with production D1 limits
 * enforced (./d1-limits.ts).
 */
export async function call<T = any>(
  method: string,
  path: string,
  opts: { token?: string | null; body?: unknown; raw?: BodyInit; headers?: Record<string, string> } = {},
): Promise<Reply<T>> {
  const headers: Record<string, string> = { ...opts.headers };
  const token = opts.token === undefined ? ADMIN : opts.token;
  if (token) headers.authorization = `Bearer ${token}`;
  let body: BodyInit | undefined = opts.raw;
  if (opts.body !== undefined) {
    headers['content-type'] = 'application/json';
    body = typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
  }
  // Over HTTP a sized body travels with its Content-Length; a Request made here has none.
  const length = bodyLength(body);
  if (length !== undefined && headers['content-length'] === undefined) headers['content-length'] = String(length);
  const { res, queries, roundTrips } = await fetchLimited(new Request(`https://hangar.test/api/v1${path}`, { method, headers, body }));
  const type = res.headers.get('content-type') ?? '';
  const parsed = type.includes('application/json') ? await res.json() : await res.text();
  return { status: res.status, body: parsed as T, headers: res.headers, queries, roundTrips };
}

function bodyLength(body: BodyInit | undefined): number | undefined {
  if (typeof body === 'string') return new TextEncoder().encode(body).byteLength;
  if (body instanceof ArrayBuffer || ArrayBuffer.isView(body)) return body.byteLength;
  if (body instanceof Blob) return body.size;
  return undefined;
}

/** Asserts an error reply: status and stable code. */
export function expectError(reply: Reply, status: number, code: string): void {
  expect({ status: reply.status, code: reply.body?.error?.code }).toEqual({ status, code });
  expect(typeof reply.body.error.message).toBe('string');
}

/** Creates a token and returns its secret. */
export async function tokenFor(namespace: string, role: 'read' | 'write' | 'admin', extra: Record<string, unknown> = {}): Promise<string> {
  const r = await call('POST', '/tokens', { body: { namespace, role, name: `${role} of ${namespace}`, ...extra } });
  expect(r.status).toBe(201);
  return r.body.token as string;
}

let fresh = 0;

/** A new model in namespace `ns`; returns its path under /api/v1. */
export async function freshModel(ns: string): Promise<string> {
  const name = `m${++fresh}`;
  const r = await call('POST', `/namespaces/${ns}/models`, { body: { name } });
  expect(r.status).toBe(201);
  return `/namespaces/${ns}/models/${name}`;
}

/** A new version of a new model in namespace `ns`; returns both paths. */
export async function freshVersion(ns: string): Promise<{ model: string; version: string }> {
  const model = await freshModel(ns);
  const r = await call('POST', `${model}/versions`, { body: {} });
  expect(r.status).toBe(201);
  return { model, version: `${model}/versions/${r.body.number}` };
}
