import { describe, expect, it } from 'vitest';
import { BlobBytesReader, READ_BUFFER_BYTES, readBlobInto } from './read-blob.ts';

function bytes(length: number, seed: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (i * 31 + seed) % 251;
  return out;
}

/** Reads through `read` and joins what it was handed, copying each view before its buffer is reused. */
async function collect(read: (onBytes: (b: Uint8Array) => void) => Promise<unknown>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  await read((b) => parts.push(b.slice()));
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) (out.set(p, at), (at += p.length));
  return out;
}

/** Byte-for-byte equality, without a deep comparison of millions of elements. */
const same = (a: Uint8Array, b: Uint8Array) => a.length === b.length && Buffer.compare(a, b) === 0;

describe('readBlobInto', () => {
  it('hands over every byte, in order, through the buffer it is given, and gives that buffer back', async () => {
    const input = bytes(READ_BUFFER_BYTES * 2 + 12345, 1);
    const given = new ArrayBuffer(READ_BUFFER_BYTES);
    let back: ArrayBuffer | undefined;
    const read = await collect(async (onBytes) => (back = await readBlobInto(new Blob([input]), onBytes, given)));
    expect(same(read, input)).toBe(true);
    // The reads transferred the given buffer: it is detached here, and what came back is it.
    expect(given.byteLength).toBe(0);
    expect(back?.byteLength).toBe(READ_BUFFER_BYTES);
  });

  it('reads an empty Blob to nothing and still gives the buffer back', async () => {
    const seen: number[] = [];
    const back = await readBlobInto(new Blob([]), (b) => seen.push(b.length));
    expect(seen).toEqual([]);
    expect(back?.byteLength).toBe(READ_BUFFER_BYTES);
  });
});

describe('BlobBytesReader', () => {
  const counting = () => {
    const made = { n: 0 };
    return { made, reader: new BlobBytesReader(() => (made.n++, new ArrayBuffer(READ_BUFFER_BYTES))) };
  };

  it('reads Blob after Blob through one buffer', async () => {
    const { made, reader } = counting();
    const inputs = [bytes(3 * READ_BUFFER_BYTES + 7, 1), bytes(READ_BUFFER_BYTES / 2, 2), bytes(0, 3), bytes(READ_BUFFER_BYTES, 4)];
    for (const input of inputs) expect(same(await collect((onBytes) => reader.read(new Blob([input]), onBytes)), input)).toBe(true);
    expect(made.n).toBe(1);
  });

  it('gives overlapping reads a buffer each, so neither sees the other’s bytes', async () => {
    const { made, reader } = counting();
    const a = bytes(2 * READ_BUFFER_BYTES + 1, 5);
    const b = bytes(2 * READ_BUFFER_BYTES + 2, 6);
    const [readA, readB] = await Promise.all([
      collect((onBytes) => reader.read(new Blob([a]), onBytes)),
      collect((onBytes) => reader.read(new Blob([b]), onBytes)),
    ]);
    expect(same(readA, a)).toBe(true);
    expect(same(readB, b)).toBe(true);
    expect(made.n).toBe(2);
    // Afterwards one of them is kept: the next read makes none.
    expect(same(await collect((onBytes) => reader.read(new Blob([a]), onBytes)), a)).toBe(true);
    expect(made.n).toBe(2);
  });
});
