// The running SHA-256 of in-order upload parts, in workerd: the native hasher held in the isolate,
// and hash-wasm's context (the compiled module the Worker ships) carried through the row.
import { describe, expect, it } from 'vitest';
import { toHex } from '../../shared/ids.ts';
import { continueDigest, HELD_MAX_BYTES, resumeDigest, type PartDigest, type RunningDigest } from '../../worker/domain/running-digest.ts';

const bytes = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 255);
const sha256Of = async (parts: Uint8Array[]) => {
  const whole = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) whole.set(p, (at += p.length) - p.length);
  return toHex(new Uint8Array(await crypto.subtle.digest('SHA-256', whole)));
};

/** Uploads of these sizes keep a held hasher, or carry the wasm context. */
const SIZES = { held: HELD_MAX_BYTES, carried: HELD_MAX_BYTES + 1 };

/** Each step goes through JSON, as it does through D1 between requests. */
function carry(parts: Uint8Array[], size: number): RunningDigest | null {
  let state: RunningDigest | null = null;
  for (const [i, p] of parts.entries()) state = JSON.parse(JSON.stringify(continueDigest(state, size, p, i === parts.length - 1)));
  return state;
}

describe('running digest', () => {
  for (const [kind, size] of Object.entries(SIZES)) {
    it(`hashes parts carried across a saved state to the digest of the whole (${kind})`, async () => {
      const parts = [bytes(64 * 1024, 1), bytes(64 * 1024 + 17, 2), bytes(1000, 3), bytes(0, 4), bytes(40_000, 5), bytes(3 << 20, 6)];
      const first = continueDigest(null, size, parts[0]!, false);
      expect(Object.keys(first!)).toEqual([kind === 'held' ? 'held' : 'sha256ctx']);
      expect(carry(parts, size)).toEqual({ digest: await sha256Of(parts) });
    });

    it(`matches WebCrypto on empty input, one byte, and lengths around the 64-byte block (${kind})`, async () => {
      for (const n of [0, 1, 55, 56, 63, 64, 65, 16 * 1024, 16 * 1024 + 1]) {
        expect(carry([bytes(n, n)], size), `${n} bytes`).toEqual({ digest: await sha256Of([bytes(n, n)]) });
      }
    });

    it(`hashes a part given in chunks of any size as the whole part (${kind})`, async () => {
      const part = bytes(100_003, 7);
      const digest = resumeDigest(null, size)!;
      for (const [from, to] of [[0, 1], [1, 70_000], [70_000, 70_000], [70_000, 100_003]] as const) digest.update(part.subarray(from, to));
      expect(digest.finish(true)).toEqual({ digest: await sha256Of([part]) });
    });

    it(`keeps digests apart when two run at once, their chunks interleaved (${kind})`, async () => {
      const a = [bytes(3 << 20, 1), bytes(2 << 20, 2)];
      const b = [bytes(5 << 20, 3), bytes(9000, 4)];
      let sa: RunningDigest | null = null;
      let sb: RunningDigest | null = null;
      for (let i = 0; i < 2; i++) {
        const [da, db]: [PartDigest, PartDigest] = [resumeDigest(sa, size)!, resumeDigest(sb, size)!];
        for (let at = 0; at < Math.max(a[i]!.length, b[i]!.length); at += 65536) {
          da.update(a[i]!.subarray(at, at + 65536));
          db.update(b[i]!.subarray(at, at + 65536));
        }
        [sa, sb] = [da.finish(i === 1), db.finish(i === 1)];
        da.settle(true);
        db.settle(true);
      }
      expect([sa, sb]).toEqual([{ digest: await sha256Of(a) }, { digest: await sha256Of(b) }]);
    });
  }

  it('goes on from a held hasher after a send of the part that failed or lost, and forgets what no row names', async () => {
    const parts = [bytes(70_000, 1), bytes(70_000, 2), bytes(500, 3)];
    const after1 = continueDigest(null, SIZES.held, parts[0]!, false)!;
    // Part 2 sent with other bytes, and its record lost the race (or never got written).
    const lost = resumeDigest(after1, SIZES.held)!;
    lost.update(bytes(70_000, 9));
    const lostState = lost.finish(false);
    lost.settle(false);
    expect(resumeDigest(lostState, SIZES.held)).toBeNull();
    // Sent again: it goes on from the hasher after part 1, which the failed send left as it was.
    const after2 = continueDigest(after1, SIZES.held, parts[1]!, false)!;
    // The hasher after part 1 is let go once part 2's state is recorded.
    expect(resumeDigest(after1, SIZES.held)).toBeNull();
    expect(continueDigest(after2, SIZES.held, parts[2]!, true)).toEqual({ digest: await sha256Of(parts) });
  });

  it('gives up on a state it did not write or holds no hasher for, and refuses to go on from a finished digest', () => {
    for (const size of Object.values(SIZES)) {
      expect(resumeDigest({ words: [1, 2, 3, 4, 5, 6, 7, 8], bytes: 64 } as unknown as RunningDigest, size)).toBeNull();
      expect(resumeDigest({ sha256ctx: btoa('short') }, size)).toBeNull();
      expect(resumeDigest({ sha256ctx: '%% not base64 %%' }, size)).toBeNull();
      // A hasher held by another isolate (or let go).
      expect(resumeDigest({ held: crypto.randomUUID() }, size)).toBeNull();
      const done = continueDigest(null, size, bytes(10, 1), true);
      expect(() => continueDigest(done, size, bytes(10, 1), true)).toThrow(/finished/);
    }
  });

  it('goes on from a wasm context whatever the upload size (an upload begun with one)', async () => {
    const parts = [bytes(70_000, 1), bytes(300, 2)];
    const carried = continueDigest(null, SIZES.carried, parts[0]!, false)!;
    expect(continueDigest(carried, SIZES.held, parts[1]!, true)).toEqual({ digest: await sha256Of(parts) });
  });
});
