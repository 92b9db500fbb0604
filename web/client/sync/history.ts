import { LIMITS } from '../../../shared/limits.ts';
import type { ParentRef, RemoteHistory } from '../context.ts';
import type { HangarDb } from '../db.ts';
import { metricTables, storeFetchedHistory, summariesLackingHistory, type StoredPoint } from '../metric-store.ts';
import type { SyncHttp } from './http.ts';

interface HistoryPage {
  points: { id: string; step: number; value: number; wallclock: number }[];
  nextPageToken?: string;
}

/**
 * Metric history fetched when asked for (DESIGN §6 "Bootstrap"): a key known from a snapshot
 * has only its summary here; its points come page by page from `GET …/metrics/{key}` and are
 * stored in its segments with their ids (each once, whatever was pulled meanwhile), and in the
 * same transaction the key's summary is made from them and no longer marked as lacking its
 * history, so from then on the key is answered from the points held here, offline too.
 */
export class HistoryFetcher implements RemoteHistory {
  private readonly inFlight = new Map<string, Promise<void>>();

  constructor(
    private readonly db: HangarDb,
    private readonly http: () => SyncHttp | undefined,
  ) {}

  fetch(parent: ParentRef, key: string): Promise<void> {
    const id = `${parent.id}\0${key}`;
    let p = this.inFlight.get(id);
    if (!p) {
      p = this.load(parent, key).finally(() => this.inFlight.delete(id));
      this.inFlight.set(id, p);
    }
    return p;
  }

  private async load(parent: ParentRef, key: string): Promise<void> {
    const http = this.http();
    if (!http) return;
    const path = await this.pathOf(parent);
    if (!path) return;
    const points: StoredPoint[] = [];
    let token: string | undefined;
    do {
      const query = new URLSearchParams({ pageSize: String(LIMITS.pageSizeMax), ...(token ? { pageToken: token } : {}) });
      const page = await http.json<HistoryPage>(`/namespaces/${parent.namespace}${path}/metrics/${encodeURIComponent(key)}?${query}`);
      for (const p of page.points) points.push({ id: p.id, value: p.value, step: p.step, wallclock: p.wallclock });
      token = page.nextPageToken;
    } while (token);
    const { db } = this;
    await db.transaction('rw', metricTables(db), async () => {
      await storeFetchedHistory(db, parent.id, key, points);
    });
  }

  /** The parent's path under its namespace as the server names it: by model name and version number. */
  private async pathOf(parent: ParentRef): Promise<string | undefined> {
    const model = await this.db.models.get(parent.modelId);
    if (!model) return undefined;
    const base = `/models/${encodeURIComponent(model.name)}`;
    if (parent.kind === 'model') return base;
    const version = await this.db.versions.get(parent.id);
    return version?.numberConfirmed ? `${base}/versions/${version.number}` : undefined;
  }
}

/** Fetches the whole history of every key of a parent that this device lacks (a pinned version). */
export async function fetchParentHistory(db: HangarDb, history: RemoteHistory | undefined, parent: ParentRef): Promise<void> {
  if (!history) return;
  const keys = await summariesLackingHistory(db, parent.id);
  for (const s of keys) await history.fetch(parent, s.key);
}

/**
 * Before this device leaves a server for another: fetches from it every history of these
 * namespaces known here only by its summary, so the re-seed gives the new server whole histories.
 * Best effort: what cannot be fetched now (offline) is answered by how many keys are left.
 */
export async function fetchNamespaceHistories(db: HangarDb, history: RemoteHistory, namespaces: string[]): Promise<number> {
  let left = 0;
  for (const s of await summariesLackingHistory(db)) {
    const version = await db.versions.get(s.parentId);
    const model = await db.models.get(version?.modelId ?? s.parentId);
    if (!model || !namespaces.includes(model.namespace)) continue;
    const parent: ParentRef = version
      ? { kind: 'version', id: version.id, namespace: model.namespace, modelId: model.id }
      : { kind: 'model', id: model.id, namespace: model.namespace, modelId: model.id };
    await history.fetch(parent, s.key).catch(() => void left++);
  }
  return left;
}
