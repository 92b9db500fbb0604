import { Agent, fetch, request } from 'undici';
import { HangarError } from '../shared/errors.ts';
import { honourRetryAfter } from '../shared/retry-after.ts';
import { CliCode, CliError, networkError, usage } from './errors.ts';

/** Where the server is and who the caller is: flags first, then HANGAR_URL / HANGAR_TOKEN. */
export interface Connection {
  url?: string;
  token?: string;
}

export interface RequestOptions {
  json?: unknown;
  body?: Uint8Array;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

/**
 * Connections for every request. Completing a large upload makes the server read the whole
 * object back when its parts arrived out of order, which can take minutes: the default wait
 * for an answer's headers (5 minutes) would cut it off, so it is long; a body that stalls still fails.
 */
const dispatcher = new Agent({ headersTimeout: 60 * 60 * 1000, bodyTimeout: 5 * 60 * 1000, connectTimeout: 30 * 1000 });

/** The Worker's REST API (DESIGN §4), with errors turned into codes a person can act on. */
export class Api {
  readonly base: string;
  constructor(
    /** The server's URL as given, without `/api/v1`. */
    readonly url: string,
    private readonly token: string,
  ) {
    this.base = `${url}/api/v1`;
  }

  /** Sends a request; answers the response when it is 2xx, else throws the server's error. */
  async fetch(method: string, path: string, opts: RequestOptions = {}) {
    const headers: Record<string, string> = { authorization: `Bearer ${this.token}`, ...opts.headers };
    let body: string | Uint8Array | undefined;
    if (opts.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(opts.json);
    } else if (opts.body) body = opts.body;
    let res: Awaited<ReturnType<typeof fetch>>;
    try {
      res = await honourRetryAfter(
        () => fetch(this.base + path, { method, headers, body, signal: opts.signal, dispatcher }),
        (r) => ({ status: r.status, retryAfter: r.headers.get('retry-after') }),
        { discard: (r) => void r.body?.cancel().catch(() => undefined) },
      );
    } catch (err) {
      throw networkError(this.url, err);
    }
    if (res.ok) return res;
    const text = await res.text().catch(() => '');
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    const error = HangarError.fromEnvelope(parsed);
    if (error) throw error;
    throw notHangar(this.url, `${method} ${path} answered ${res.status} without a Hangar error`);
  }

  /**
   * Sends raw bytes (an upload part, a small blob) and reads the JSON answer. Through undici's
   * `request`, which writes the buffer as it is: `fetch` copies every body first, and those
   * copies of 8 MiB parts pile up faster than the garbage collector frees them.
   */
  async sendBytes<T>(method: 'PUT', path: string, bytes: Uint8Array): Promise<T> {
    let res: Awaited<ReturnType<typeof request>>;
    try {
      res = await honourRetryAfter(
        () =>
          request(this.base + path, {
            method,
            body: bytes,
            headers: { authorization: `Bearer ${this.token}`, 'content-type': 'application/octet-stream', 'content-length': String(bytes.byteLength) },
            dispatcher,
          }),
        (r) => {
          const retryAfter = r.headers['retry-after'];
          return { status: r.statusCode, retryAfter: Array.isArray(retryAfter) ? retryAfter[0] : retryAfter };
        },
        { discard: (r) => void r.body.dump().catch(() => undefined) },
      );
    } catch (err) {
      throw networkError(this.url, err);
    }
    const text = await res.body.text().catch((err: unknown) => {
      throw networkError(this.url, err);
    });
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw notHangar(this.url, `${method} ${path} answered ${res.statusCode} without JSON`);
    }
    if (res.statusCode >= 200 && res.statusCode < 300) return parsed as T;
    throw HangarError.fromEnvelope(parsed) ?? notHangar(this.url, `${method} ${path} answered ${res.statusCode} without a Hangar error`);
  }

  /** Sends a request and reads its JSON answer. */
  async json<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const res = await this.fetch(method, path, opts);
    if (!(res.headers.get('content-type') ?? '').includes('application/json')) {
      throw notHangar(this.url, `${method} ${path} did not answer JSON`);
    }
    try {
      return (await res.json()) as T;
    } catch (err) {
      throw networkError(this.url, err);
    }
  }

  /** `/namespaces/{ns}/models/{model}`, each segment escaped. */
  static model(namespace: string, model: string): string {
    return `/namespaces/${encodeURIComponent(namespace)}/models/${encodeURIComponent(model)}`;
  }
}

const notHangar = (url: string, what: string) =>
  new CliError(CliCode.NotHangar, `${url} is not a Hangar server: ${what}.`, 'Set --url (or HANGAR_URL) to the Worker\'s base URL, e.g. https://hangar.example.workers.dev.');

/** The server's base URL from a flag or the environment: http(s), no `/api/v1`, no trailing slash. */
export function serverUrl(given: string | undefined): string {
  const raw = given ?? process.env['HANGAR_URL'];
  if (!raw) throw usage('No server given.', 'Set HANGAR_URL or pass --url https://your-hangar.example.');
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw usage(`"${raw}" is not a URL.`, 'Pass the server\'s base URL, e.g. --url https://hangar.example.workers.dev.');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw usage(`"${raw}" is not an http(s) URL.`, 'Pass the server\'s base URL, e.g. --url https://hangar.example.workers.dev.');
  }
  return url.href.replace(/\/+$/, '').replace(/\/api\/v1$/, '');
}

/** An API client from flags and environment; usage error (exit 2) when either is missing. */
export function connect(conn: Connection): Api {
  const url = serverUrl(conn.url);
  const token = conn.token ?? process.env['HANGAR_TOKEN'];
  if (!token) throw usage('No token given.', 'Set HANGAR_TOKEN or pass --token hgr_…; an admin makes one with "hangar token create".');
  return new Api(url, token);
}
