import { openRegistry, type Hangar } from '../../web/client/index.ts';
import type { HangarServer } from '../browser/server.ts';
import { parentPoints } from '../../web/client/metric-store.ts';

/** What a flaky network does to the next request: nothing, lose the request, or lose the answer. */
export type Fault = 'none' | 'drop-request' | 'drop-response';

/** A fetch that can lose requests or answers, as a bad connection does. */
export function flakyFetch() {
  const state = { next: [] as Fault[], offline: false, sent: 0, log: [] as string[] };
  const fetcher: typeof fetch = async (input, init) => {
    if (state.offline) throw new TypeError('Failed to fetch (offline)');
    state.log.push(`${init?.method ?? 'GET'} ${new URL(String(input)).pathname}`);
    const fault = state.next.shift() ?? 'none';
    if (fault === 'drop-request') throw new TypeError('Failed to fetch (request lost)');
    const res = await fetch(input, init);
    state.sent++;
    if (fault === 'drop-response') {
      await res.arrayBuffer().catch(() => undefined);
      throw new TypeError('Failed to fetch (response lost)');
    }
    return res;
  };
  return { fetcher, state };
}

let registries = 0;

/** A registry in its own IndexedDB database, syncing `namespaces` with the server through a flaky fetch. */
export async function syncedRegistry(
  server: HangarServer,
  token: string,
  namespaces: string[],
  opts: { now?: () => number } = {},
): Promise<{ hangar: Hangar; net: ReturnType<typeof flakyFetch>['state'] }> {
  const { fetcher, state } = flakyFetch();
  const hangar = await openRegistry({ name: `sync-test-${Date.now()}-${++registries}`, persist: false, fetch: fetcher, ...opts });
  // A long interval: rounds run when the test says so (and after local writes).
  await hangar.sync({ url: server.url, token, namespaces, intervalMs: 3_600_000 });
  return { hangar, net: state };
}

/**
 * Brings every metric history a replica knows only by its summary (a bootstrapped device,
 * DESIGN §6 "Bootstrap"), as a chart asking for it would; offline, nothing changes.
 */
export async function fetchHistories(hangar: Hangar, namespace: string): Promise<void> {
  const db = hangar.db;
  for (const s of (await db.metricSummaries.toArray()).filter((r) => r.asOf !== undefined)) {
    const version = await db.versions.get(s.parentId);
    const model = await db.models.get(version?.modelId ?? s.parentId);
    if (!model || model.namespace !== namespace || model.deletedAt !== null || (version && version.deletedAt !== null)) continue;
    const parent = version ? await hangar.find(`${namespace}/${model.name}/${version.number}`) : await hangar.model(namespace, model.name);
    await parent.metricHistory(s.key);
  }
}

/** Everything a replica holds of a namespace (histories fetched first), in a form two replicas can be compared by. */
export async function snapshot(hangar: Hangar, namespace: string) {
  await fetchHistories(hangar, namespace);
  const db = hangar.db;
  const models = (await db.models.where('namespace').equals(namespace).toArray()).filter((m) => m.deletedAt === null);
  const out: Record<string, unknown> = {};
  for (const m of models.sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const versions = (await db.versions.where('modelId').equals(m.id).toArray()).filter((v) => v.deletedAt === null).sort((a, b) => a.number - b.number);
    const ids = [m.id, ...versions.map((v) => v.id)];
    const metadata = (await db.metadata.where('parentId').anyOf(ids).toArray()).filter((x) => !x.deleted);
    const checkpoints = await db.checkpoints.where('versionId').anyOf(ids).toArray();
    const points = (await Promise.all(ids.map((id) => parentPoints(db, id)))).flat();
    const aliases = await db.aliases.where('[modelId+alias]').between([m.id, ''], [m.id, '\uffff']).toArray();
    const artifacts = await db.artifacts.where('parentId').anyOf(ids).toArray();
    out[m.name] = {
      fields: { owner: m.owner, task: m.task, description: m.description },
      versions: versions.map((v) => ({ id: v.id, number: v.number, label: v.version, name: v.name, status: v.status })),
      metadata: Object.fromEntries(metadata.map((x) => [`${x.parentId}/${x.key}`, x.value]).sort()),
      points: points.map((p) => p.id).sort(),
      aliases: Object.fromEntries(aliases.map((a) => [a.alias, a.versionId]).sort()),
      artifacts: artifacts.map((a) => `${a.parentId}/${a.path}:${a.sha256}`).sort(),
      checkpoints: checkpoints.map((c) => `${c.versionId}/${c.handle}:${c.target ?? ''}`).sort(),
    };
  }
  return out;
}
