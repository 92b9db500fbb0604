import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LIMITS } from './limits.ts';
import { aliasSchema, artifactPathProblem, keySchema, namespaceSchema, nameSchema } from './names.ts';

const ok = (schema: { safeParse(v: unknown): { success: boolean } }, v: unknown) => schema.safeParse(v).success;

describe('names', () => {
  it('accepts every name built from the allowed alphabet within the length', () => {
    const first = fc.constantFrom(...'abcXYZ019');
    const rest = fc.string({ unit: fc.constantFrom(...'aZ09._-'), maxLength: 127 });
    fc.assert(fc.property(first, rest, (f, r) => ok(nameSchema, f + r)));
  });

  it('refuses any name with a character outside the alphabet', () => {
    const bad = fc.constantFrom('/', '\\', ' ', '\0', '..'.slice(0, 1) + '/', 'é', '%', ':', '\n');
    fc.assert(fc.property(fc.string({ maxLength: 20 }), bad, fc.string({ maxLength: 20 }), (a, b, c) => !ok(nameSchema, `a${a}${b}${c}`)));
    expect(ok(nameSchema, '.hidden')).toBe(false);
    expect(ok(nameSchema, 'a'.repeat(129))).toBe(false);
  });

  it('takes lower-case DNS-like namespaces only', () => {
    for (const good of ['team', 'a', 'growth-2', '0x']) expect(ok(namespaceSchema, good)).toBe(true);
    for (const bad of ['Team', '-a', 'a_b', '', 'a'.repeat(64), '*']) expect(ok(namespaceSchema, bad)).toBe(false);
  });

  it('never accepts an alias that reads as a version number', () => {
    fc.assert(fc.property(fc.constantFrom('v', 'V'), fc.nat(), (v, n) => !ok(aliasSchema, `${v}${n}`)));
    for (const good of ['production', 'champion', 'v', 'v1a', 'staging_2']) expect(ok(aliasSchema, good)).toBe(true);
  });

  it('bounds keys by length and refuses NUL', () => {
    expect(ok(keySchema, 'k'.repeat(LIMITS.keyLength))).toBe(true);
    expect(ok(keySchema, 'k'.repeat(LIMITS.keyLength + 1))).toBe(false);
    expect(ok(keySchema, '')).toBe(false);
    expect(ok(keySchema, 'a\0b')).toBe(false);
  });
});

describe('artifact paths', () => {
  const segment = fc.string({ unit: fc.constantFrom(...'abc.XYZ-_09 é'), minLength: 1, maxLength: 12 }).filter((s) => s !== '.' && s !== '..');

  it('accepts every relative POSIX path of plain segments', () => {
    fc.assert(fc.property(fc.array(segment, { minLength: 1, maxLength: 8 }), (parts) => artifactPathProblem(parts.join('/')) === undefined));
  });

  it('refuses any path with a dot segment, a backslash, NUL, a leading slash or an empty segment', () => {
    const poison = fc.constantFrom('..', '.', 'a\\b', 'a\0b', '');
    fc.assert(
      fc.property(fc.array(segment, { maxLength: 4 }), poison, fc.array(segment, { maxLength: 4 }), (before, p, after) => {
        const path = [...before, p, ...after].join('/');
        return artifactPathProblem(path) !== undefined;
      }),
    );
    fc.assert(fc.property(fc.array(segment, { minLength: 1, maxLength: 4 }), (parts) => artifactPathProblem(`/${parts.join('/')}`) !== undefined));
  });

  it('measures the length limit in UTF-8 bytes', () => {
    expect(artifactPathProblem('a'.repeat(LIMITS.artifactPathBytes))).toBeUndefined();
    expect(artifactPathProblem('é'.repeat(LIMITS.artifactPathBytes / 2 + 1))).toMatch(/bytes/);
  });
});
