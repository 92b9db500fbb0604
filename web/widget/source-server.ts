// The source over a Hangar server's HTTP API (DESIGN §4), read with a bearer token. The server
// answers a browser only from the origins the token names, so a refused origin shows up here
// as a network error: the message says so.
import type { Artifact } from '../../shared/artifacts.ts';
import { readBody } from '../client/read-body.ts';
import { HangarError } from '../../shared/errors.ts';
import { LIMITS } from '../../shared/limits.ts';
import { honourRetryAfter } from '../../shared/retry-after.ts';
import type { MetricSummary } from '../../shared/metrics.ts';
import type { Model } from '../../shared/models.ts';
import type { Page } from '../../shared/pages.ts';
import type { ModelVersion } from '../../shared/versions.ts';
import { LiveSockets } from '../client/sync/live.ts';
import { splitRef } from './ref.ts';
import type { ChartPoint, CheckpointSummary, ModelSummary, Target, VersionDetail, WidgetSource } from './source.ts';

export interface ServerOptions {
  /** The Worker's base URL, without `/api/v1`. */
  server: string;
  token: string;
  /** Lists only this namespace's models; without it, every namespace the token can see. */
  namespace?: string;
}

const seg = encodeURIComponent;
const pathOf = (t: Target) => `/namespaces/${seg(t.namespace)}/models/${seg(t.model)}${t.number === undefined ? '' : `/versions/${t.number}`}`;

const modelSummary = (m: Model): ModelSummary => ({
  namespace: m.namespace,
  name: m.name,
  owner: m.owner,
  task: m.task,
  description: m.description,
  updatedAt: m.updatedAt,
});

const versionDetail = (v: ModelVersion): VersionDetail => ({ ...v, numberConfirmed: true });

/**
 * The live sockets of one server and token, shared by every element on the page: one socket per
 * namespace the elements read, open while any element watches. A poke re-runs every watch.
 */
class WidgetLive {
  private readonly sockets = new Map<string, LiveSockets>();
  readonly watchers = new Set<() => void>();

  constructor(private readonly remote: { url: string; token: string }) {}

  /** A namespace an element read: hold its socket while anything watches. */
  touch(ns: string): void {
    if (!this.watchers.size || this.sockets.has(ns)) return;
    const rerun = () => this.watchers.forEach((w) => w());
    const sockets = new LiveSockets(this.remote, [ns], {
      poke: rerun,
      // Open (again): what changed since the elements read, or while it was down, is read again.
      opened: rerun,
      down: () => undefined,
    });
    this.sockets.set(ns, sockets);
    sockets.start();
  }

  unwatch(watcher: () => void): void {
    this.watchers.delete(watcher);
    if (this.watchers.size) return;
    for (const s of this.sockets.values()) s.stop();
    this.sockets.clear();
  }
}

const liveByServer = new Map<string, WidgetLive>();

export function serverSource({ server, token, namespace }: ServerOptions): WidgetSource {
  const base = `${server.replace(/\/+$/, '')}/api/v1`;
  const key = `${server}\n${token}`;
  const live = liveByServer.get(key) ?? new WidgetLive({ url: server, token });
  liveByServer.set(key, live);

  async function request(path: string): Promise<Response> {
    const ns = /^\/namespaces\/([^/?]+)\//.exec(path)?.[1];
    if (ns) live.touch(decodeURIComponent(ns));
    let res: Response;
    try {
      // A 429 is waited out as its Retry-After says, then asked again (DESIGN §4).
      res = await honourRetryAfter(
        () => fetch(`${base}${path}`, { headers: { authorization: `Bearer ${token}` } }),
        (r) => ({ status: r.status, retryAfter: r.headers.get('retry-after') }),
        { discard: (r) => void r.body?.cancel().catch(() => undefined) },
      );
    } catch (err) {
      // A CORS refusal and an unreachable server look the same to a page.
      throw new Error(
        `Could not read from the Hangar server at ${server}: it is unreachable, or it does not allow this site (${location.origin}) with this token. (${(err as Error).message})`,
      );
    }
    if (res.ok) return res;
    const body: unknown = await res.json().catch(() => undefined);
    throw HangarError.fromEnvelope(body) ?? new Error(`The Hangar server at ${server} answered ${res.status} ${res.statusText}: is it a Hangar server?`);
  }

  async function get<T>(path: string): Promise<T> {
    const res = await request(path);
    try {
      return (await res.json()) as T;
    } catch {
      throw new Error(`The server at ${server} did not answer with JSON: is it a Hangar server?`);
    }
  }

  /** Every item of a listing, page after page. */
  async function all<T>(path: string): Promise<T[]> {
    const items: T[] = [];
    let pageToken: string | undefined;
    do {
      const sep = path.includes('?') ? '&' : '?';
      const page = await get<Page<T>>(`${path}${sep}pageSize=${LIMITS.pageSizeMax}${pageToken ? `&pageToken=${seg(pageToken)}` : ''}`);
      items.push(...page.items);
      pageToken = page.nextPageToken;
    } while (pageToken);
    return items;
  }

  async function namespaces(): Promise<string[]> {
    if (namespace) return [namespace];
    return (await get<{ items: { name: string }[] }>('/namespaces')).items.map((n) => n.name);
  }

  return {
    label: server,
    async models({ namespace: ns, filter }) {
      const query = filter ? `?filter=${seg(filter)}` : '';
      const lists = await Promise.all((ns ? [ns] : await namespaces()).map((n) => all<Model>(`/namespaces/${seg(n)}/models${query}`)));
      return lists.flat().map(modelSummary);
    },
    async model(ns, name) {
      const m = await get<Model>(pathOf({ namespace: ns, model: name }));
      return { ...modelSummary(m), metadata: m.metadata, aliases: m.aliases };
    },
    async versions(ns, model) {
      return (await all<ModelVersion>(`${pathOf({ namespace: ns, model })}/versions?orderBy=number%20ASC`)).map(versionDetail);
    },
    async version(text) {
      const ref = splitRef(text);
      const model = pathOf({ namespace: ref.namespace, model: ref.model });
      let number = ref.number;
      if (ref.alias !== undefined) number = (await get<{ version: number }>(`${model}/aliases/${seg(ref.alias)}`)).version;
      if (number === undefined) {
        const page = await get<Page<ModelVersion>>(`${model}/versions?filter=${seg("status = 'ready'")}&orderBy=number%20DESC&pageSize=1`);
        const latest = page.items[0];
        if (!latest) throw new Error(`Model "${ref.model}" has no ready version yet.`);
        return versionDetail(latest);
      }
      return versionDetail(await get<ModelVersion>(`${model}/versions/${number}`));
    },
    async metrics(t) {
      return (await get<{ metrics: Record<string, MetricSummary> }>(`${pathOf(t)}/metrics`)).metrics;
    },
    async metricHistory(t, key, opts = {}) {
      const path = `${pathOf(t)}/metrics/${seg(key)}`;
      if (opts.maxPoints !== undefined) {
        const maxPoints = Math.min(Math.max(opts.maxPoints, 2), LIMITS.maxPointsMax);
        return (await get<{ points: ChartPoint[] }>(`${path}?maxPoints=${maxPoints}`)).points;
      }
      const points: ChartPoint[] = [];
      let pageToken: string | undefined;
      do {
        const page = await get<{ points: ChartPoint[]; nextPageToken?: string }>(
          `${path}?pageSize=${LIMITS.pageSizeMax}${pageToken ? `&pageToken=${seg(pageToken)}` : ''}`,
        );
        points.push(...page.points);
        pageToken = page.nextPageToken;
      } while (pageToken);
      return points;
    },
    async artifacts(t) {
      return (await get<{ items: Artifact[] }>(`${pathOf(t)}/artifacts`)).items;
    },
    async readArtifact(t, path, onProgress) {
      return readBody(await request(`${pathOf(t)}/artifacts/${path.split('/').map(seg).join('/')}`), onProgress);
    },
    async checkpoints(t) {
      const list = await get<{ items: { handle: string; createdAt: string; files: unknown[] }[]; default: string | null }>(`${pathOf(t)}/checkpoints`);
      const items: CheckpointSummary[] = list.items.map((c) => ({ handle: c.handle, createdAt: c.createdAt, files: c.files.length }));
      return { items, default: list.default };
    },
    watch(query, next, error) {
      // Read now, and again whenever the server pokes a namespace the elements read (one run at a time).
      let watching = true;
      let running = false;
      let again = false;
      const run = async () => {
        if (running) {
          again = true;
          return;
        }
        running = true;
        try {
          do {
            again = false;
            const value = await query();
            if (watching) next(value);
          } while (again && watching);
        } catch (err) {
          if (watching) error(err);
        } finally {
          running = false;
        }
      };
      live.watchers.add(run);
      void run();
      return () => {
        watching = false;
        live.unwatch(run);
      };
    },
  };
}
