import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { continueDigest, type RunningDigest } from './running-digest.ts';

const bytes = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 255);

describe('running digest', () => {
  it('hashes parts carried across a saved state to the digest of the whole', () => {
    const parts = [bytes(64 * 1024, 1), bytes(64 * 1024, 2), bytes(1000, 3)];
    let state: RunningDigest | null = null;
    // Each step goes through JSON, as it does through D1 between requests.
    parts.forEach((p, i) => (state = JSON.parse(JSON.stringify(continueDigest(state, p, i === parts.length - 1)))));
    const whole = createHash('sha256');
    for (const p of parts) whole.update(p);
    expect(state).toEqual({ digest: whole.digest('hex') });
  });

  it('refuses a part before the last that is not whole 64-byte blocks, and a finished digest', () => {
    expect(() => continueDigest(null, bytes(100, 1), false)).toThrow(/64-byte blocks/);
    const done = continueDigest(null, bytes(10, 1), true);
    expect(() => continueDigest(done, bytes(10, 1), true)).toThrow(/finished/);
  });
});
