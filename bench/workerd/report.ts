import { env } from 'cloudflare:test';

export { median, report, type BenchFigure } from '../figure.ts';

/**
 * Times `work` in milliseconds. In workerd the clock only moves across I/O, so a trivial D1
 * query first makes the start reading fresh (the CPU spent before it is not counted), and
 * `work` must end with I/O (it always does here: a D1 batch or a fetch) for the end reading
 * to include everything it did.
 */
export async function timed(work: () => Promise<unknown>): Promise<number> {
  await env.DB.prepare('SELECT 1').first();
  const start = performance.now();
  await work();
  const ms = performance.now() - start;
  if (!(ms > 0)) throw new Error(`a benchmark measured ${ms} ms: the clock did not move, so the figure would be meaningless`);
  return ms;
}
