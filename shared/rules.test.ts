import { describe, expect, it } from 'vitest';
import { ALIAS_CASES, ARTIFACT_CASES, CLOCK_CASES, DELETE_CASES, FIELD_CASES, METADATA_CASES } from './rules.cases.ts';
import { aliasVerdict, artifactVerdict, clockVerdict, deleteVerdict, labelVerdict, mergeFields, mergeMetadata, newPoints } from './rules.ts';

describe('the conflict rules table', () => {
  it.each(FIELD_CASES)('fields: $name', ({ held, write, after }) => {
    const { won } = mergeFields(held.clocks, write.fields, write.hlc, Object.keys(held.values));
    expect({ ...held.values, ...won }).toEqual(after);
  });

  it.each(METADATA_CASES)('metadata: $name', ({ held, incoming, after }) => {
    const next = mergeMetadata(held, incoming) ?? held;
    expect(next === undefined ? 'absent' : next.deleted ? 'deleted' : { value: next.value }).toEqual(after);
  });

  it.each(DELETE_CASES)('deletes: $name', ({ deletedAt, write, verdict }) => {
    expect(deleteVerdict(deletedAt, write)).toBe(verdict);
  });

  it.each(ALIAS_CASES)('aliases: $name', ({ current, move, verdict }) => {
    expect(aliasVerdict(current, move)).toBe(verdict);
  });

  it.each(ARTIFACT_CASES)('artifacts: $name', ({ held, incoming, verdict }) => {
    expect(artifactVerdict(held, incoming)).toBe(verdict);
  });

  it.each(CLOCK_CASES)('clocks: $name', ({ hlc, nowMs, verdict }) => {
    expect(clockVerdict(hlc, nowMs)).toBe(verdict);
  });

  it('labels: the first to arrive keeps it', () => {
    expect(labelVerdict(undefined, 'v2')).toBe('keep');
    expect(labelVerdict('v2', 'v2')).toBe('keep');
    expect(labelVerdict('v1', 'v2')).toBe('conflict');
  });

  it('metric points: the union by id, never a duplicate', () => {
    const points = [{ id: 'p1' }, { id: 'p2' }, { id: 'p2' }, { id: 'p3' }];
    expect(newPoints(new Set(['p1']), points).map((p) => p.id)).toEqual(['p2', 'p3']);
  });
});
