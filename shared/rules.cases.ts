import { formatHlc, type Hlc } from './hlc.ts';
import { LIMITS } from './limits.ts';
import type { AliasVerdict, ArtifactIdentity, Clocks, DeleteVerdict, MetadataEntry } from './rules.ts';

/**
 * The conflict rules of DESIGN §3 as one table of cases. `shared/rules.test.ts` runs it against
 * the reducers of `rules.ts` (the browser's paths); `test/workerd/rules.test.ts` runs the same
 * cases through the Worker's SQL paths, so the two sides cannot drift apart.
 */

/** Clocks for the cases: `t(n)` is later than `t(m)` for n > m; node ids break ties. */
export const t = (n: number, node = 'a'): Hlc => formatHlc(1_700_000_000_000 + n, 0, node);

export interface FieldCase {
  name: string;
  held: { values: Record<string, string | null>; clocks: Clocks };
  write: { fields: Record<string, string | null | undefined>; hlc: Hlc };
  /** The field values after the write. */
  after: Record<string, string | null>;
}

const base = { values: { owner: 'ann', task: 'tabular', description: 'first' }, clocks: { owner: t(10), task: t(10), description: t(20) } };

export const FIELD_CASES: FieldCase[] = [
  { name: 'a later write wins its field', held: base, write: { fields: { owner: 'bob' }, hlc: t(15) }, after: { ...base.values, owner: 'bob' } },
  { name: 'an older write loses its field', held: base, write: { fields: { description: 'old' }, hlc: t(15) }, after: base.values },
  { name: 'wins and losses are per field', held: base, write: { fields: { owner: 'bob', description: 'old' }, hlc: t(15) }, after: { ...base.values, owner: 'bob' } },
  { name: 'a field left out is not touched', held: base, write: { fields: { task: undefined }, hlc: t(30) }, after: base.values },
  { name: 'null clears a field when later', held: base, write: { fields: { description: null }, hlc: t(30) }, after: { ...base.values, description: null } },
  { name: 'the same clock is the same write: nothing changes', held: base, write: { fields: { owner: 'eve' }, hlc: t(10) }, after: base.values },
  { name: 'the node id orders writes of the same millisecond', held: base, write: { fields: { owner: 'zed' }, hlc: t(10, 'b') }, after: { ...base.values, owner: 'zed' } },
];

export interface MetadataCase {
  name: string;
  held: MetadataEntry | undefined;
  incoming: MetadataEntry;
  /** What the key holds afterwards: a value, or `deleted`. */
  after: { value: unknown } | 'deleted' | 'absent';
}

export const METADATA_CASES: MetadataCase[] = [
  { name: 'a set of a new key stores it', held: undefined, incoming: { value: 1, hlc: t(5), deleted: false }, after: { value: 1 } },
  { name: 'a later set wins', held: { value: 1, hlc: t(5), deleted: false }, incoming: { value: 2, hlc: t(6), deleted: false }, after: { value: 2 } },
  { name: 'an older set loses', held: { value: 1, hlc: t(5), deleted: false }, incoming: { value: 2, hlc: t(4), deleted: false }, after: { value: 1 } },
  { name: 'a later delete leaves a tombstone', held: { value: 1, hlc: t(5), deleted: false }, incoming: { value: null, hlc: t(6), deleted: true }, after: 'deleted' },
  { name: 'a set older than the delete never brings the key back', held: { value: null, hlc: t(6), deleted: true }, incoming: { value: 3, hlc: t(5), deleted: false }, after: 'deleted' },
  { name: 'a set later than the delete brings the key back', held: { value: null, hlc: t(6), deleted: true }, incoming: { value: 3, hlc: t(7), deleted: false }, after: { value: 3 } },
  { name: 'an older delete loses to a later set', held: { value: 1, hlc: t(5), deleted: false }, incoming: { value: null, hlc: t(4), deleted: true }, after: { value: 1 } },
  { name: 'a delete of a key never set leaves a tombstone', held: undefined, incoming: { value: null, hlc: t(4), deleted: true }, after: 'deleted' },
];

export interface DeleteCase {
  name: string;
  deletedAt: Hlc | null;
  write: { op: 'create' | 'update' | 'delete'; hlc: Hlc };
  verdict: DeleteVerdict;
}

export const DELETE_CASES: DeleteCase[] = [
  { name: 'a write to a live thing applies', deletedAt: null, write: { op: 'update', hlc: t(1) }, verdict: 'apply' },
  { name: 'an update after a delete loses to it', deletedAt: t(5), write: { op: 'update', hlc: t(9) }, verdict: 'deleted' },
  { name: 'an update older than the delete loses to it', deletedAt: t(5), write: { op: 'update', hlc: t(1) }, verdict: 'deleted' },
  { name: 'a create later than the delete revives', deletedAt: t(5), write: { op: 'create', hlc: t(9) }, verdict: 'revive' },
  { name: 'a create older than the delete never brings it back', deletedAt: t(5), write: { op: 'create', hlc: t(1) }, verdict: 'deleted' },
  { name: 'a second delete changes nothing', deletedAt: t(5), write: { op: 'delete', hlc: t(9) }, verdict: 'deleted' },
];

export interface AliasCase {
  name: string;
  current: string | null;
  move: { versionId: string | null; expectedVersionId: string | null };
  verdict: AliasVerdict;
}

export const ALIAS_CASES: AliasCase[] = [
  { name: 'a move from where it points applies', current: 'v1', move: { versionId: 'v2', expectedVersionId: 'v1' }, verdict: 'apply' },
  { name: 'a first set of an unset alias applies', current: null, move: { versionId: 'v1', expectedVersionId: null }, verdict: 'apply' },
  { name: 'a move that expected another version is a conflict', current: 'v3', move: { versionId: 'v2', expectedVersionId: 'v1' }, verdict: 'conflict' },
  { name: 'a move that saw another state is a conflict even when the target matches', current: 'v2', move: { versionId: 'v2', expectedVersionId: 'v1' }, verdict: 'conflict' },
  { name: 'a delete of where it points applies', current: 'v1', move: { versionId: null, expectedVersionId: 'v1' }, verdict: 'apply' },
  { name: 'a delete of an unset alias is nothing to do', current: null, move: { versionId: null, expectedVersionId: null }, verdict: 'noop' },
];

export interface ArtifactCase {
  name: string;
  held: ArtifactIdentity | undefined;
  incoming: ArtifactIdentity;
  verdict: 'create' | 'same' | 'conflict';
}

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);

export const ARTIFACT_CASES: ArtifactCase[] = [
  { name: 'a new path is created', held: undefined, incoming: { sha256: A }, verdict: 'create' },
  { name: 'the same path and digest is the same artifact', held: { sha256: A }, incoming: { sha256: A }, verdict: 'same' },
  { name: 'the same path with other bytes is a conflict', held: { sha256: A }, incoming: { sha256: B }, verdict: 'conflict' },
  { name: 'tracked with no digest: the same URL is the same artifact', held: { sha256: null, url: 'https://x/a' }, incoming: { sha256: null, url: 'https://x/a' }, verdict: 'same' },
  { name: 'tracked with no digest: another URL is a conflict', held: { sha256: null, url: 'https://x/a' }, incoming: { sha256: null, url: 'https://x/b' }, verdict: 'conflict' },
];

export interface ClockCase {
  name: string;
  hlc: string;
  nowMs: number;
  verdict: 'ok' | 'invalid' | 'clock-skew';
}

const NOW = 1_800_000_000_000;
export const CLOCK_CASES: ClockCase[] = [
  { name: 'a clock behind now is fine', hlc: formatHlc(NOW - 86_400_000, 0, 'a'), nowMs: NOW, verdict: 'ok' },
  { name: 'a clock just within the drift is fine', hlc: formatHlc(NOW + LIMITS.maxClockDriftMs, 999_999, 'a'), nowMs: NOW, verdict: 'ok' },
  { name: 'a clock a minute past the drift is refused', hlc: formatHlc(NOW + LIMITS.maxClockDriftMs + 60_000, 0, 'a'), nowMs: NOW, verdict: 'clock-skew' },
  { name: 'the largest clock the format holds is refused', hlc: '999999999999999-999999-x', nowMs: NOW, verdict: 'clock-skew' },
  { name: 'a seven-digit counter is not a clock', hlc: '000001800000000-1000000-x', nowMs: NOW, verdict: 'invalid' },
];
