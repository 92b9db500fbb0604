import type { Hangar } from '../../../web/client/index.ts';
import type { HangarServer } from '../../browser/server.ts';
import { parentPoints } from '../../../web/client/metric-store.ts';
import { fetchHistories } from '../../sync/clients.ts';
import { pointLine } from './ops.ts';

/** One parent's (model's or version's) data, in a form a replica and the server can be compared by. */
export interface ParentView {
  metadata: Record<string, unknown>;
  /** Metric points as `pointLine`s, sorted; a doubled point shows twice. */
  points: string[];
  /** `path sha256 size url`, sorted. */
  artifacts: string[];
}

export interface VersionView extends ParentView {
  id: string;
  number: number;
  label: string | null;
  name: string | null;
  description: string | null;
  framework: string | null;
  status: string;
  /** Handle → the handle `default` points at, or '' for others. */
  checkpoints: Record<string, string>;
}

export interface ModelView extends ParentView {
  id: string;
  owner: string | null;
  task: string | null;
  description: string | null;
  aliases: Record<string, string>;
  /** By version id. */
  versions: Record<string, VersionView>;
}

/** A namespace as one side holds it: live models by name. */
export type NamespaceView = Record<string, ModelView>;

const sorted = <T>(xs: T[]) => [...xs].sort();
const sortedObject = <T>(entries: [string, T][]) => Object.fromEntries(entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
const artifactLine = (a: { path: string; sha256: string | null; size: number | null; url?: string | null }) => `${a.path} ${a.sha256} ${a.size} ${a.url ?? ''}`;

/**
 * What a replica holds of a namespace, read straight from its IndexedDB, once the metric
 * histories it knows only by summary (a device that bootstrapped from a snapshot) are fetched,
 * as a chart asking for them would.
 */
export async function replicaView(hangar: Hangar, ns: string): Promise<NamespaceView> {
  await fetchHistories(hangar, ns);
  const db = hangar.db;
  const out: NamespaceView = {};
  const models = (await db.models.where('namespace').equals(ns).toArray()).filter((m) => m.deletedAt === null);
  const parentView = async (id: string): Promise<ParentView> => ({
    metadata: sortedObject((await db.metadata.where('parentId').equals(id).toArray()).filter((m) => !m.deleted).map((m) => [m.key, m.value])),
    points: sorted((await parentPoints(db, id)).map(pointLine)),
    artifacts: sorted((await db.artifacts.where('parentId').equals(id).toArray()).map(artifactLine)),
  });
  for (const m of models) {
    const versions = (await db.versions.where('modelId').equals(m.id).toArray()).filter((v) => v.deletedAt === null).sort((a, b) => a.number - b.number);
    const vviews: VersionView[] = [];
    for (const v of versions) {
      const checkpoints = await db.checkpoints.where('versionId').equals(v.id).toArray();
      vviews.push({
        id: v.id,
        number: v.number,
        label: v.version,
        name: v.name,
        description: v.description,
        framework: v.framework,
        status: v.status,
        ...(await parentView(v.id)),
        checkpoints: sortedObject(checkpoints.map((c) => [c.handle, c.target ?? ''])),
      });
    }
    const aliases = await db.aliases.where('[modelId+alias]').between([m.id, ''], [m.id, '\uffff']).toArray();
    out[m.name] = {
      id: m.id,
      owner: m.owner,
      task: m.task,
      description: m.description,
      ...(await parentView(m.id)),
      aliases: sortedObject(aliases.map((a) => [a.alias, a.versionId])),
      versions: Object.fromEntries(vviews.map((v) => [v.id, v])),
    };
  }
  return out;
}

async function json<T>(server: HangarServer, path: string): Promise<T> {
  const res = await server.api(path);
  if (!res.ok) throw new Error(`GET ${path} answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as T;
}

/** Every page of a listing. */
async function pages<T>(server: HangarServer, path: string, field: 'items' | 'points'): Promise<T[]> {
  const out: T[] = [];
  let token: string | undefined;
  do {
    const sep = path.includes('?') ? '&' : '?';
    const page = await json<Record<string, unknown> & { nextPageToken?: string }>(server, `${path}${sep}pageSize=1000${token ? `&pageToken=${encodeURIComponent(token)}` : ''}`);
    out.push(...(page[field] as T[]));
    token = page.nextPageToken;
  } while (token);
  return out;
}

interface ServerArtifact {
  path: string;
  sha256: string | null;
  size: number | null;
  url?: string;
  stored: boolean;
}

/** What the server holds of a namespace, read over its REST API only. */
export async function serverView(server: HangarServer, ns: string): Promise<NamespaceView> {
  const base = `/namespaces/${ns}/models`;
  const out: NamespaceView = {};
  const models = await pages<{ id: string; name: string; owner: string | null; task: string | null; description: string | null; metadata: Record<string, unknown> }>(server, base, 'items');
  const parentView = async (path: string, metadata: Record<string, unknown>): Promise<ParentView> => {
    const summary = await json<{ metrics: Record<string, unknown> }>(server, `${path}/metrics`);
    const points: string[] = [];
    for (const key of Object.keys(summary.metrics)) {
      const history = await pages<{ step: number; value: number; wallclock: number }>(server, `${path}/metrics/${encodeURIComponent(key)}`, 'points');
      points.push(...history.map((p) => pointLine({ key, ...p })));
    }
    const artifacts = (await json<{ items: ServerArtifact[] }>(server, `${path}/artifacts`)).items;
    return { metadata: sortedObject(Object.entries(metadata)), points: sorted(points), artifacts: sorted(artifacts.map(artifactLine)) };
  };
  for (const m of models) {
    const path = `${base}/${m.name}`;
    const versions = (
      await pages<{ id: string; number: number; version: string | null; name: string | null; description: string | null; framework: string | null; status: string; metadata: Record<string, unknown> }>(
        server,
        `${path}/versions`,
        'items',
      )
    ).sort((a, b) => a.number - b.number);
    const vviews: VersionView[] = [];
    for (const v of versions) {
      const vpath = `${path}/versions/${v.number}`;
      const cps = await json<{ items: { handle: string; target?: string }[]; default: string | null }>(server, `${vpath}/checkpoints`);
      const checkpoints: [string, string][] = cps.items.map((c) => [c.handle, c.target ?? '']);
      if (cps.default !== null && !cps.items.some((c) => c.handle === 'default')) checkpoints.push(['default', cps.default]);
      vviews.push({
        id: v.id,
        number: v.number,
        label: v.version,
        name: v.name,
        description: v.description,
        framework: v.framework,
        status: v.status,
        ...(await parentView(vpath, v.metadata)),
        checkpoints: sortedObject(checkpoints),
      });
    }
    const aliases = (await json<{ items: { alias: string; versionId: string }[] }>(server, `${path}/aliases`)).items;
    out[m.name] = {
      id: m.id,
      owner: m.owner,
      task: m.task,
      description: m.description,
      ...(await parentView(path, m.metadata)),
      aliases: sortedObject(aliases.map((a) => [a.alias, a.versionId])),
      versions: Object.fromEntries(vviews.map((v) => [v.id, v])),
    };
  }
  return out;
}

/** The paths where two views differ (at most `limit`), `a` and `b` named for the message. */
export function differences(a: unknown, b: unknown, limit = 6, path = ''): string[] {
  if (JSON.stringify(a) === JSON.stringify(b)) return [];
  const objects = a && b && typeof a === 'object' && typeof b === 'object' && Array.isArray(a) === Array.isArray(b);
  if (!objects || Array.isArray(a)) return [`${path || '/'}: ${JSON.stringify(a)?.slice(0, 200)} ≠ ${JSON.stringify(b)?.slice(0, 200)}`];
  const out: string[] = [];
  const keys = new Set([...Object.keys(a as object), ...Object.keys(b as object)]);
  for (const k of keys) {
    out.push(...differences((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], limit - out.length, `${path}/${k}`));
    if (out.length >= limit) break;
  }
  return out;
}
