// The running SHA-256 of in-order upload parts, in workerd with the compiled module the Worker ships.
import { describe, expect, it } from 'vitest';
import { toHex } from '../../shared/ids.ts';
import { continueDigest, type RunningDigest } from '../../worker/domain/running-digest.ts';

const bytes = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 255);
const sha256Of = async (parts: Uint8Array[]) => {
  const whole = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) whole.set(p, (at += p.length) - p.length);
  return toHex(new Uint8Array(await crypto.subtle.digest('SHA-256', whole)));
};

/** Each step goes through JSON, as it does through D1 between requests. */
async function carry(parts: Uint8Array[]): Promise<RunningDigest | null> {
  let state: RunningDigest | null = null;
  for (const [i, p] of parts.entries()) state = JSON.parse(JSON.stringify(await continueDigest(state, p, i === parts.length - 1)));
  return state;
}

describe('running digest', () => {
  it('hashes parts carried across a saved state to the digest of the whole', async () => {
    const parts = [bytes(64 * 1024, 1), bytes(64 * 1024 + 17, 2), bytes(1000, 3), bytes(0, 4), bytes(40_000, 5), bytes(3 << 20, 6)];
    expect(await carry(parts)).toEqual({ digest: await sha256Of(parts) });
  });

  it('matches WebCrypto on empty input, one byte, and lengths around the 64-byte block', async () => {
    for (const n of [0, 1, 55, 56, 63, 64, 65, 16 * 1024, 16 * 1024 + 1]) {
      expect(await carry([bytes(n, n)]), `${n} bytes`).toEqual({ digest: await sha256Of([bytes(n, n)]) });
    }
  });

  it('keeps digests apart when two run at once, each pausing between MiBs', async () => {
    const a = [bytes(3 << 20, 1), bytes(2 << 20, 2)];
    const b = [bytes(5 << 20, 3), bytes(9000, 4)];
    const pauses: string[] = [];
    const pause = (who: string) => () => (pauses.push(who), new Promise<void>((r) => setTimeout(r, 0)));
    const [sa, sb] = await Promise.all([continueDigest(null, a[0]!, false, pause('a')), continueDigest(null, b[0]!, false, pause('b'))]);
    // They did take turns.
    expect(pauses.slice(0, 2).sort()).toEqual(['a', 'b']);
    const [da, db] = await Promise.all([continueDigest(sa, a[1]!, true, pause('a')), continueDigest(sb, b[1]!, true, pause('b'))]);
    expect([da, db]).toEqual([{ digest: await sha256Of(a) }, { digest: await sha256Of(b) }]);
  });

  it('gives up on a state it did not write, and refuses to go on from a finished digest', async () => {
    expect(await continueDigest({ words: [1, 2, 3, 4, 5, 6, 7, 8], bytes: 64 } as unknown as RunningDigest, bytes(10, 1), true)).toBeNull();
    expect(await continueDigest({ sha256ctx: btoa('short') }, bytes(10, 1), true)).toBeNull();
    expect(await continueDigest({ sha256ctx: '%% not base64 %%' }, bytes(10, 1), true)).toBeNull();
    const done = await continueDigest(null, bytes(10, 1), true);
    await expect(continueDigest(done, bytes(10, 1), true)).rejects.toThrow(/finished/);
  });
});
