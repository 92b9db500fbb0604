import { ErrorCode, HangarError } from '../../../shared/errors.ts';
import { parseRetryAfter } from '../../../shared/retry-after.ts';
import type { SnapshotPage } from '../../../shared/snapshot.ts';
import { PROTOCOL_HEADER, PROTOCOL_VERSION, PULL_CLIENT_HEADER, PULL_CURSOR_HEADER, type PullResponse, type PushRequest, type PushResponse } from '../../../shared/sync.ts';

/** The server could not be reached (offline, refused, dropped): retry later. */
export class NetworkError extends Error {
  override readonly name = 'NetworkError';
}

/** Where a registry syncs: the Worker's base URL (without `/api/v1`) and a token. */
export interface Remote {
  url: string;
  token: string;
}

/** The sync server's API as the engine uses it. Every failure is a HangarError or a NetworkError. */
export class SyncHttp {
  /** The server read no pull headers once: pull with the query. */
  private pullInQuery = false;

  constructor(
    readonly remote: Remote,
    private readonly fetcher: typeof fetch = (...args) => fetch(...args),
  ) {}

  private async send(path: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    headers.set('authorization', `Bearer ${this.remote.token}`);
    headers.set(PROTOCOL_HEADER, String(PROTOCOL_VERSION));
    let res: Response;
    try {
      res = await this.fetcher(`${this.remote.url.replace(/\/+$/, '')}/api/v1${path}`, { ...init, headers });
    } catch (err) {
      throw new NetworkError(`The sync server at ${this.remote.url} cannot be reached: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (res.ok) return res;
    const body = await res.json().catch(() => undefined);
    const error = HangarError.fromEnvelope(body);
    // The server is reachable in all of these: a 429 or a 5xx is never "offline" (DESIGN §4).
    if (res.status === 429) {
      const retryAfterMs = parseRetryAfter(res.headers.get('retry-after'), Date.now());
      throw new HangarError(ErrorCode.RateLimited, error?.message ?? `The sync server at ${this.remote.url} asks to slow down (HTTP 429).`, {
        ...error?.details,
        status: 429,
        ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
      });
    }
    if (res.status === 413) {
      throw new HangarError(ErrorCode.PayloadTooLarge, error?.message ?? `The sync server refused a request as too large (HTTP 413).`, { ...error?.details, status: 413 });
    }
    if (res.status >= 500) {
      throw new HangarError(error?.code ?? ErrorCode.Internal, error?.message ?? `The sync server answered ${res.status}.`, { ...error?.details, status: res.status });
    }
    if (error) throw error;
    throw notHangar(this.remote.url, res.status);
  }

  async json<T>(path: string, init: RequestInit = {}): Promise<T> {
    const res = await this.send(path, init);
    try {
      return (await res.json()) as T;
    } catch {
      throw notHangar(this.remote.url, res.status);
    }
  }

  push(namespace: string, body: PushRequest): Promise<PushResponse> {
    return this.json(`/namespaces/${namespace}/sync/push`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  }

  /**
   * One page of the change log. `clientId` and `cursor` travel as headers, so the URL is the same
   * every time and a browser asks its CORS preflight once, not before every pull; a server that
   * does not read them (older) answers `invalid-argument`, and this client uses the query after.
   */
  async pull(namespace: string, q: { clientId: string; cursor: number }): Promise<PullResponse> {
    if (!this.pullInQuery) {
      try {
        return await this.json(`/namespaces/${namespace}/sync/pull`, { headers: { [PULL_CLIENT_HEADER]: q.clientId, [PULL_CURSOR_HEADER]: String(q.cursor) } });
      } catch (err) {
        if (!(err instanceof HangarError && err.code === ErrorCode.InvalidArgument)) throw err;
        this.pullInQuery = true;
      }
    }
    return this.json(`/namespaces/${namespace}/sync/pull?clientId=${q.clientId}&cursor=${q.cursor}`);
  }

  /** One page of the namespace's snapshot (DESIGN §6 "Bootstrap"). */
  snapshot(namespace: string, pageToken?: string): Promise<SnapshotPage> {
    return this.json(`/namespaces/${namespace}/sync/snapshot${pageToken ? `?pageToken=${encodeURIComponent(pageToken)}` : ''}`);
  }

  /** A raw request under the namespace (blob uploads and downloads). */
  request(namespace: string, path: string, init: RequestInit = {}): Promise<Response> {
    return this.send(`/namespaces/${namespace}${path}`, init);
  }
}

export { parseRetryAfter };

const notHangar = (url: string, status: number) =>
  new HangarError(ErrorCode.InvalidArgument, `${url} does not answer as a Hangar server (HTTP ${status}); check the server URL.`, { url, status });
