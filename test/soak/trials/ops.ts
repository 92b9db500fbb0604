import type { Hangar, ModelHandle, VersionHandle } from '../../../web/client/index.ts';
import { parentPoints } from '../../../web/client/metric-store.ts';
import type { Rng } from './rng.ts';

/** Model names of a trial: the first two are never deleted, so what was written on them must survive. */
export const KEPT_MODELS = ['alpha', 'beta'] as const;
export const DELETABLE_MODEL = 'gamma';
const MODELS = [...KEPT_MODELS, DELETABLE_MODEL];
const LABELS = ['gold', 'silver', 'rc1'];
const ALIASES = ['prod', 'staging'];
const KEYS = ['k1', 'k2', 'params'];

/** What clients' writes resolved to: checked against the server after the final sync. */
export interface Ledger {
  /** Version id → the model name it was made on and the client that made it. */
  versions: Map<string, { model: string; client: number }>;
  /** Version ids some client deleted. */
  deletedVersions: Set<string>;
  /**
   * Metric point id → its parent id, model name and `pointLine` (the REST API does not show
   * point ids, so the server's points are matched by key, step, value and wallclock; values
   * are random, so two points never share a line by chance).
   */
  points: Map<string, { parentId: string; model: string; client: number; line: string }>;
  /** `parentId/path` → the bytes uploaded, for artifacts and checkpoint files. */
  blobs: Map<string, { model: string; parentId: string; path: string; sha256: string; bytes: Uint8Array<ArrayBuffer>; client: number }>;
  /** `client/model` for each model a client created (kept models only are checked). */
  models: Set<string>;
}

export const newLedger = (): Ledger => ({ versions: new Map(), deletedVersions: new Set(), points: new Map(), blobs: new Map(), models: new Set() });

/** Codes a registry answers to a user's write that makes no sense in its current state: the user's error, not a failure. */
export const USER_ERRORS = new Set([
  'model-not-found',
  'model-exists',
  'version-not-found',
  'version-label-taken',
  'alias-not-found',
  'alias-precondition-failed',
  'artifact-exists',
  'artifact-conflict',
  'checkpoint-not-found',
  // A handle saved again with other files: checkpoints are immutable.
  'checkpoint-exists',
]);

export type OpKind =
  | 'model.create'
  | 'model.update'
  | 'model.delete'
  | 'version.create'
  | 'version.update'
  | 'version.status'
  | 'version.delete'
  | 'metadata.set'
  | 'metadata.delete'
  | 'metrics.log'
  | 'alias.set'
  | 'alias.delete'
  | 'artifact.upload'
  | 'artifact.track'
  | 'checkpoint.save';

const WEIGHTS: [OpKind, number][] = [
  ['model.create', 3],
  ['model.update', 3],
  ['model.delete', 0.6],
  ['version.create', 4],
  ['version.update', 2],
  ['version.status', 1.5],
  ['version.delete', 0.8],
  ['metadata.set', 3],
  ['metadata.delete', 1.5],
  ['metrics.log', 4],
  ['alias.set', 2],
  ['alias.delete', 1],
  ['artifact.upload', 2],
  ['artifact.track', 1],
  ['checkpoint.save', 1],
];
const TOTAL = WEIGHTS.reduce((s, [, w]) => s + w, 0);

export function pickOp(rng: Rng): OpKind {
  let x = rng.next() * TOTAL;
  for (const [kind, w] of WEIGHTS) if ((x -= w) < 0) return kind;
  return 'metrics.log';
}

const hex = (rng: Rng, n: number) => Array.from(rng.bytes(n), (b) => b.toString(16).padStart(2, '0')).join('');

export async function sha256Hex(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const d = await crypto.subtle.digest('SHA-256', bytes);
  return Array.from(new Uint8Array(d), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** A metric point as both sides can show it. */
export const pointLine = (p: { key: string; step: number; value: number; wallclock: number }) => `${p.key} ${p.step} ${p.value} ${p.wallclock}`;

/** True when the library can delete metadata (being added with issue 10). */
export const canDeleteMetadata = (parent: object): boolean => typeof (parent as { deleteMetadata?: unknown }).deleteMetadata === 'function';

/** What running one op came to. */
export type OpOutcome = 'done' | 'refused' | 'skipped' | 'unsupported';

/**
 * Runs one random write of `kind` on `hangar` (client number `client`) and records in the
 * ledger what it resolved to. A user's error (see USER_ERRORS) is `refused`; anything else
 * thrown is the caller's to report.
 */
export async function runOp(hangar: Hangar, ns: string, client: number, kind: OpKind, rng: Rng, ledger: Ledger): Promise<OpOutcome> {
  const name = kind === 'model.delete' ? DELETABLE_MODEL : rng.pick(MODELS);
  const bytesOf = () => rng.bytes(rng.pick([0, 1, 64, 3000, 70_000]));
  try {
    if (kind === 'model.create') {
      const fields: Record<string, string> = {};
      if (rng.chance(0.5)) fields.task = rng.pick(['tabular', 'vision']);
      if (rng.chance(0.5)) fields.description = `d${rng.int(0, 9)}`;
      if (rng.chance(0.3)) fields.owner = `o${client}`;
      await hangar.newModel({ namespace: ns, name, ...fields });
      ledger.models.add(`${client}/${name}`);
      return 'done';
    }
    const model = await hangar.model(ns, name);
    const versions = await model.versions();
    const version = versions.length ? rng.pick(versions) : undefined;
    const parent: ModelHandle | VersionHandle = version && rng.chance(0.6) ? version : model;
    switch (kind) {
      case 'model.update': {
        const field = rng.pick(['task', 'description', 'owner'] as const);
        await model.update({ [field]: rng.chance(0.15) ? null : `${field[0]}${rng.int(0, 9)}` });
        return 'done';
      }
      case 'model.delete':
        await model.delete();
        return 'done';
      case 'version.create': {
        const input: Record<string, unknown> = {};
        if (rng.chance(0.4)) input.version = rng.pick(LABELS);
        if (rng.chance(0.5)) input.name = `n${rng.int(0, 9)}`;
        if (rng.chance(0.3)) input.status = 'pending';
        const v = await model.newVersion(input);
        ledger.versions.set(v.id, { model: name, client });
        return 'done';
      }
      case 'version.update': {
        if (!version) return 'skipped';
        const field = rng.pick(['description', 'framework', 'name'] as const);
        await version.update({ [field]: `${field[0]}${rng.int(0, 9)}` });
        return 'done';
      }
      case 'version.status': {
        if (!version) return 'skipped';
        const wanted = rng.chance(0.8) ? 'ready' : 'failed';
        // A failed version stays failed: marking it ready is a user's error the library refuses.
        if (wanted === 'ready' && version.status === 'failed') {
          const refused = await version.markReady().then(() => false, (err: { code?: string }) => err.code === 'invalid-argument');
          if (!refused) throw new Error(`marking failed version ${version.id} ready was not refused`);
          return 'refused';
        }
        await version.update({ status: wanted });
        return 'done';
      }
      case 'version.delete': {
        if (!version) return 'skipped';
        await version.delete();
        ledger.deletedVersions.add(version.id);
        return 'done';
      }
      case 'metadata.set': {
        const value = rng.pick<unknown>([rng.int(0, 99), `s${rng.int(0, 9)}`, { lr: rng.next() }, [1, 2, rng.int(0, 9)], null, true]);
        await parent.updateMetadata(rng.pick(KEYS), value);
        return 'done';
      }
      case 'metadata.delete': {
        if (!canDeleteMetadata(parent)) return 'unsupported';
        await (parent as unknown as { deleteMetadata(key: string): Promise<void> }).deleteMetadata(rng.pick(KEYS));
        return 'done';
      }
      case 'metrics.log': {
        // A key only this client writes, so the points under it on this parent are its own.
        const key = `loss_c${client}`;
        const n = rng.int(1, 5);
        for (let i = 0; i < n; i++) void parent.logMetrics({ [key]: rng.next(), acc: rng.next() }, { step: rng.int(0, 50) }).catch(() => undefined);
        await hangar.flush();
        const mine = (await parentPoints(hangar.db, parent.id)).filter((p) => p.key === key);
        for (const p of mine) ledger.points.set(p.id, { parentId: parent.id, model: name, client, line: pointLine(p) });
        return 'done';
      }
      case 'alias.set': {
        if (!version) return 'skipped';
        await model.setAlias(rng.pick(ALIASES), version);
        return 'done';
      }
      case 'alias.delete':
        await model.deleteAlias(rng.pick(ALIASES));
        return 'done';
      case 'artifact.upload': {
        const bytes = bytesOf();
        const path = `files/f-${hex(rng, 4)}.bin`;
        await parent.uploadArtifacts([{ path, file: new Blob([bytes]) }]);
        ledger.blobs.set(`${parent.id}/${path}`, { model: name, parentId: parent.id, path, sha256: await sha256Hex(bytes), bytes, client });
        return 'done';
      }
      case 'artifact.track': {
        const path = `tracked/t-${hex(rng, 4)}.bin`;
        const declared = rng.chance(0.5) ? { sha256: hex(rng, 32), size: rng.int(1, 1000) } : {};
        await parent.trackArtifacts([{ path, url: `https://example.com/${path}`, ...declared }]);
        return 'done';
      }
      case 'checkpoint.save': {
        if (!version) return 'skipped';
        const bytes = bytesOf();
        const handle = rng.pick(['epoch_1', 'epoch_2', 'best']);
        await version.saveCheckpoint(handle, { 'weights.bin': new Blob([bytes]) }, { setAsDefault: rng.chance(0.7) });
        return 'done';
      }
    }
    return 'skipped';
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code && USER_ERRORS.has(code)) return 'refused';
    throw err;
  }
}
