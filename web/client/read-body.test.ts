import { describe, expect, it } from 'vitest';
import { readBody, type ByteProgress } from './read-body.ts';

/** A response streaming `chunks` (of the given sizes), with or without Content-Length. */
function streamed(sizes: number[], length: boolean): Response {
  const bytes = sizes.map((n, i) => new Uint8Array(n).fill(i + 1));
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      const next = bytes.shift();
      if (next) controller.enqueue(next);
      else controller.close();
    },
  });
  const total = sizes.reduce((a, b) => a + b, 0);
  return new Response(body, { headers: { 'content-type': 'application/octet-stream', ...(length ? { 'content-length': String(total) } : {}) } });
}

describe('readBody', () => {
  it('reports bytes read against Content-Length, from 0 to the whole, and gives every byte', async () => {
    const seen: ByteProgress[] = [];
    const blob = await readBody(streamed([3, 5 * 1024 * 1024, 7], true), (p) => seen.push(p));
    const total = 3 + 5 * 1024 * 1024 + 7;
    expect(blob.size).toBe(total);
    expect(blob.type).toBe('application/octet-stream');
    const bytes = new Uint8Array(await blob.arrayBuffer());
    expect([bytes[0], bytes[3], bytes[total - 1]]).toEqual([1, 2, 3]);
    expect(seen.map((p) => p.loaded)).toEqual([0, 3, 3 + 5 * 1024 * 1024, total, total]);
    expect(seen.every((p) => p.total === total)).toBe(true);
  });

  it('counts what has arrived as the whole when the server does not say', async () => {
    const seen: ByteProgress[] = [];
    await readBody(streamed([10, 20], false), (p) => seen.push(p));
    expect(seen).toEqual([
      { loaded: 0, total: 0 },
      { loaded: 10, total: 10 },
      { loaded: 30, total: 30 },
      { loaded: 30, total: 30 },
    ]);
  });
});
