import { hlcAheadMs, isHlc, type Hlc } from './hlc.ts';
import { LIMITS } from './limits.ts';

/**
 * The conflict rules of DESIGN §3, once: what happens when a write meets what a replica holds.
 * The browser's local writes, its pull and its archive import call these; the Worker's SQL
 * (worker/db/lww.ts, the metadata upsert, the alias compare-and-set) implements the same rules
 * in statements, and the one table in `rules.cases.ts` is run against both.
 */

/** Per-field clocks: field name → the clock of the write that last set it. */
export type Clocks = Record<string, Hlc>;

/**
 * Last writer wins per field: of `incoming`, the fields named in `names` that are present (not
 * `undefined`) and whose clock is later than the one the field last saw. `hlc` is the write's
 * clock, or each field's own (a record merged from an archive). A field a write leaves out is
 * never touched, so a create that gives only some fields blanks nothing. Equal clocks are the
 * same write seen again: nothing changes.
 */
export function mergeFields(clocks: Clocks, incoming: Record<string, unknown>, hlc: Hlc | Clocks, names: readonly string[]): { won: Record<string, unknown>; clocks: Clocks } {
  const won: Record<string, unknown> = {};
  const next = { ...clocks };
  for (const f of names) {
    const at = typeof hlc === 'string' ? hlc : hlc[f];
    if (incoming[f] === undefined || at === undefined) continue;
    if (at > (clocks[f] ?? '')) {
      won[f] = incoming[f];
      next[f] = at;
    }
  }
  return { won, clocks: next };
}

/** What a write does to an entity (model or version) that may carry a delete's tombstone. */
export type DeleteVerdict = 'apply' | 'revive' | 'deleted';

/**
 * Deletes are tombstones with their clock: an update to a deleted thing loses (a delete wins
 * over a concurrent change, which the caller keeps as a `deleted` conflict); a create later
 * than the delete brings it back afresh (`revive`), an older one does not; a delete of a
 * deleted thing changes nothing.
 */
export function deleteVerdict(deletedAt: Hlc | null, write: { op: 'create' | 'update' | 'delete'; hlc: Hlc }): DeleteVerdict {
  if (deletedAt === null) return 'apply';
  if (write.op === 'create') return write.hlc > deletedAt ? 'revive' : 'deleted';
  return 'deleted';
}

/** A metadata key as a replica holds it: a value, or a tombstone (`deleted`), with its clock. */
export interface MetadataEntry {
  value: unknown;
  hlc: Hlc;
  deleted: boolean;
}

/**
 * Metadata keys, last writer wins per key, deletes included: the incoming set or delete wins
 * only if its clock is later than what is held, so a write older than a delete never brings
 * the key back. Returns the entry to store, or `undefined` when the held one stays.
 */
export function mergeMetadata(held: MetadataEntry | undefined, incoming: MetadataEntry): MetadataEntry | undefined {
  return held === undefined || incoming.hlc > held.hlc ? incoming : undefined;
}

/** What an alias move comes to: applied, nothing to do, or a conflict the user resolves. */
export type AliasVerdict = 'apply' | 'noop' | 'conflict';

/**
 * An alias move carries the version it expected the alias to point at; it applies only if
 * that still holds (even when the alias already points at the move's target, the mover saw
 * another state, and the user hears of it). A move to where it points now is nothing to do.
 */
export function aliasVerdict(current: string | null, move: { versionId: string | null; expectedVersionId: string | null }): AliasVerdict {
  if (current !== move.expectedVersionId) return 'conflict';
  return current === move.versionId ? 'noop' : 'apply';
}

/** An artifact's identity for the immutability rule. */
export interface ArtifactIdentity {
  sha256: string | null;
  url?: string | null;
}

/**
 * Artifacts are immutable: the same path with the same digest (or, for a tracked artifact with
 * none, the same URL) is the same artifact; the same path with other bytes is a conflict.
 */
export function artifactVerdict(held: ArtifactIdentity | undefined, incoming: ArtifactIdentity): 'create' | 'same' | 'conflict' {
  if (!held) return 'create';
  const same = held.sha256 !== null || incoming.sha256 !== null ? held.sha256 === incoming.sha256 : (held.url ?? null) === (incoming.url ?? null);
  return same ? 'same' : 'conflict';
}

/** A version label is unique per model: the first to arrive keeps it; a later one is cleared. */
export function labelVerdict(holderId: string | undefined, versionId: string): 'keep' | 'conflict' {
  return holderId === undefined || holderId === versionId ? 'keep' : 'conflict';
}

/** Metric points are append-only and identified by id: the points not held yet. */
export function newPoints<P extends { id: string }>(held: ReadonlySet<string>, points: readonly P[]): P[] {
  const seen = new Set(held);
  return points.filter((p) => !seen.has(p.id) && (seen.add(p.id), true));
}

/**
 * A write's clock against the receiver's (corrected) time: `ok`, `invalid` (not a clock), or
 * `clock-skew` when it is further ahead than `LIMITS.maxClockDriftMs`: such a write is refused,
 * never stored or adopted.
 */
export function clockVerdict(hlc: string, nowMs: number): 'ok' | 'invalid' | 'clock-skew' {
  if (!isHlc(hlc)) return 'invalid';
  return hlcAheadMs(hlc, nowMs) > LIMITS.maxClockDriftMs ? 'clock-skew' : 'ok';
}
