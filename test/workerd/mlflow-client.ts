import { ADMIN } from './api.ts';
import { fetchLimited } from './d1-limits.ts';

export interface MlReply<T = any> {
  status: number;
  body: T;
  headers: Headers;
  queries: number;
}

/**
 * Calls MLflow's REST API under `/mlflow/{ns}/api/2.0/…` as the MLflow client does: GET with
 * the fields in the query string, other methods with a JSON body; `Authorization: Bearer`.
 */
export async function ml<T = any>(
  ns: string,
  method: string,
  path: string,
  opts: { body?: Record<string, unknown>; token?: string | null; raw?: Uint8Array; headers?: Record<string, string> } = {},
): Promise<MlReply<T>> {
  const headers: Record<string, string> = { ...opts.headers };
  const token = opts.token === undefined ? ADMIN : opts.token;
  if (token && !headers.authorization) headers.authorization = `Bearer ${token}`;
  let url = `https://hangar.test/mlflow/${ns}/api/2.0/${path}`;
  let body: BodyInit | undefined;
  if (opts.raw) {
    body = opts.raw;
    headers['content-length'] = String(opts.raw.byteLength);
  } else if (method === 'GET' && opts.body) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(opts.body)) for (const one of Array.isArray(v) ? v : [v]) q.append(k, String(one));
    url += `?${q}`;
  } else if (opts.body) {
    body = JSON.stringify(opts.body);
    headers['content-type'] = 'application/json';
    headers['content-length'] = String(new TextEncoder().encode(body).byteLength);
  }
  const { res, queries } = await fetchLimited(new Request(url, { method, headers, body }));
  const type = res.headers.get('content-type') ?? '';
  const parsed = type.includes('application/json') ? await res.json() : new Uint8Array(await res.arrayBuffer());
  return { status: res.status, body: parsed as T, headers: res.headers, queries };
}
