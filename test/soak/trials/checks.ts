import { LIMITS } from '../../../shared/limits.ts';
import { parseHlc } from '../../../shared/hlc.ts';
import { PROTOCOL_HEADER, PROTOCOL_VERSION } from '../../../shared/sync.ts';
import type { Hangar } from '../../../web/client/index.ts';
import type { HangarServer } from '../../browser/server.ts';
import { KEPT_MODELS, sha256Hex, type Ledger } from './ops.ts';
import { trueNow } from './net.ts';
import type { NamespaceView, ParentView } from './views.ts';

/** A failure class of the campaign: what the report counts. */
export type FailureClass = 'diverged' | 'lost' | 'doubled' | 'wedged' | 'blob' | 'clock' | 'order' | 'server-error' | 'op-error' | 'harness';

export interface Failure {
  class: FailureClass;
  detail: string;
}

const kept = (model: string) => (KEPT_MODELS as readonly string[]).includes(model);

/** Nothing doubled on the server: version ids and numbers, metric point ids, artifact paths. */
export function doubled(view: NamespaceView): Failure[] {
  const out: Failure[] = [];
  // Per parent: the same point twice on one parent is a doubled point.
  const pointLines = new Map<string, number>();
  for (const [name, m] of Object.entries(view)) {
    const numbers = Object.values(m.versions).map((v) => v.number);
    if (new Set(numbers).size !== numbers.length) out.push({ class: 'doubled', detail: `${name}: version numbers ${numbers.join(',')}` });
    for (const p of [m, ...Object.values(m.versions)]) {
      for (const line of p.points) pointLines.set(`${p.id} ${line}`, (pointLines.get(`${p.id} ${line}`) ?? 0) + 1);
      const paths = p.artifacts.map((a) => a.split(' ')[0]);
      if (new Set(paths).size !== paths.length) out.push({ class: 'doubled', detail: `${name}: artifact paths ${paths.join(',')}` });
    }
  }
  const twice = [...pointLines].filter(([, n]) => n > 1);
  if (twice.length) out.push({ class: 'doubled', detail: `${twice.length} metric points held more than once, e.g. ${twice[0]![0]}` });
  return out;
}

/**
 * Nothing acknowledged is missing from `view` (the server's): of the writes `clients` made
 * (a write is acknowledged when the library's call resolved), each one on a model nobody
 * deletes, on a parent nobody deleted, must be there after the final sync.
 */
export function lost(view: NamespaceView, ledger: Ledger, clients: Set<number>, side: string): Failure[] {
  const out: Failure[] = [];
  const on = ` (missing on server ${side})`;
  const versionsById = new Map(Object.values(view).flatMap((m) => Object.values(m.versions).map((v) => [v.id, v] as const)));
  const parents = new Map<string, ParentView>(Object.values(view).flatMap((m) => [[m.id, m] as const, ...Object.values(m.versions).map((v) => [v.id, v] as const)]));
  for (const entry of ledger.models) {
    const [client, model] = entry.split('/') as [string, string];
    if (clients.has(Number(client)) && kept(model) && !view[model]) out.push({ class: 'lost', detail: `model ${model} created by client ${client}${on}` });
  }
  for (const [id, v] of ledger.versions) {
    if (!clients.has(v.client) || !kept(v.model) || ledger.deletedVersions.has(id)) continue;
    if (!versionsById.has(id)) out.push({ class: 'lost', detail: `version ${id} of ${v.model} made by client ${v.client}${on}` });
  }
  let missingPoints = 0;
  let example = '';
  for (const [id, p] of ledger.points) {
    if (!clients.has(p.client) || !kept(p.model) || ledger.deletedVersions.has(p.parentId)) continue;
    const parent = parents.get(p.parentId);
    if (!parent?.points.includes(p.line)) {
      missingPoints++;
      example ||= `${id} (${p.line}) on ${p.model}${parent ? '' : ' (parent missing)'} by client ${p.client}`;
    }
  }
  if (missingPoints) out.push({ class: 'lost', detail: `${missingPoints} metric points, e.g. ${example}${on}` });
  for (const b of ledger.blobs.values()) {
    if (!clients.has(b.client) || !kept(b.model) || ledger.deletedVersions.has(b.parentId)) continue;
    const parent = parents.get(b.parentId);
    if (!parent?.artifacts.some((a) => a.startsWith(`${b.path} ${b.sha256} `))) {
      out.push({ class: 'lost', detail: `artifact ${b.path} (${b.bytes.length} bytes) by client ${b.client}${parent ? '' : ' (parent missing)'}${on}` });
    }
  }
  return out;
}

/** Every stored artifact's bytes on the server match its digest and what was uploaded; each replica reads the same bytes. */
export async function blobs(server: HangarServer, ns: string, view: NamespaceView, ledger: Ledger, replicas: Hangar[]): Promise<Failure[]> {
  const out: Failure[] = [];
  for (const [name, m] of Object.entries(view)) {
    for (const [parentId, path, p] of [[m.id, `/namespaces/${ns}/models/${name}`, m] as const, ...Object.values(m.versions).map((v) => [v.id, `/namespaces/${ns}/models/${name}/versions/${v.number}`, v] as const)]) {
      for (const line of p.artifacts) {
        const [file, sha256, , url] = line.split(' ');
        if (url || sha256 === 'null') continue;
        const res = await server.api(`${path}/artifacts/${file!.split('/').map(encodeURIComponent).join('/')}`);
        if (res.status !== 200) {
          out.push({ class: 'blob', detail: `${name} ${file}: the server answered ${res.status} for its bytes` });
          continue;
        }
        const bytes = new Uint8Array(await res.arrayBuffer());
        if ((await sha256Hex(bytes)) !== sha256) out.push({ class: 'blob', detail: `${name} ${file}: the server's bytes do not hash to ${sha256}` });
        const uploaded = ledger.blobs.get(`${parentId}/${file}`);
        if (uploaded && uploaded.sha256 === sha256 && Buffer.compare(Buffer.from(uploaded.bytes), Buffer.from(bytes)) !== 0) {
          out.push({ class: 'blob', detail: `${name} ${file}: the server's bytes differ from those uploaded` });
        }
        for (const [i, hangar] of replicas.entries()) {
          try {
            const model = await hangar.model(ns, name);
            const parent = parentId === m.id ? model : (await model.versions()).find((v) => v.id === parentId);
            const local = new Uint8Array(await (await parent!.readArtifact(file!)).arrayBuffer());
            if (Buffer.compare(Buffer.from(local), Buffer.from(bytes)) !== 0) out.push({ class: 'blob', detail: `${name} ${file}: replica ${i} reads other bytes than the server's` });
          } catch (err) {
            out.push({ class: 'blob', detail: `${name} ${file}: replica ${i} cannot read it: ${(err as Error).message}` });
          }
        }
      }
    }
  }
  return out;
}

/** No clock in the namespace's change log is more than the allowed drift ahead of true time, and every one parses. */
export async function clocks(server: HangarServer, ns: string): Promise<Failure[]> {
  const out: Failure[] = [];
  let cursor = 0;
  const limit = trueNow() + LIMITS.maxClockDriftMs;
  const auditor = crypto.randomUUID();
  for (let pages = 0; pages < 1000; pages++) {
    const res = await server.api(`/namespaces/${ns}/sync/pull?clientId=${auditor}&cursor=${cursor}`, { headers: { [PROTOCOL_HEADER]: String(PROTOCOL_VERSION) } });
    if (!res.ok) return [{ class: 'clock', detail: `auditing the change log: pull answered ${res.status}` }];
    const page = (await res.json()) as { changes: { seq: number; entity: string; hlc: string }[]; cursor: number; more: boolean };
    for (const c of page.changes) {
      const p = parseHlc(c.hlc);
      if (!p) out.push({ class: 'clock', detail: `change ${c.seq} (${c.entity}) has a malformed clock ${c.hlc}` });
      else if (p.ms > limit) out.push({ class: 'clock', detail: `change ${c.seq} (${c.entity}) stored a clock ${Math.round((p.ms - trueNow()) / 3_600_000)} h ahead: ${c.hlc}` });
      if (out.length >= 3) return out;
    }
    cursor = page.cursor;
    if (!page.more) break;
  }
  return out;
}
