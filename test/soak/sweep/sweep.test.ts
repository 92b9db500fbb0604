import { createExecutionContext, env, SELF, waitOnExecutionContext } from 'cloudflare:test';
import fc from 'fast-check';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { app, routeDocs } from '../../../worker/app.ts';
import { ensureFixtures, type Fixtures } from './fixtures.ts';
import { describe as show, requestsFor, type SweepRequest } from './requests.ts';
import { tracked } from './tracked.ts';

// Set by vitest.config.ts from the environment (workerd does not see the host's).
const RUNS = inject('sweepRuns');
const BASE = inject('sweepSeed');
const ONLY = inject('sweepRoute');
/** Requests drawn per sample: a failure prints its route, chunk and index, which replay it alone. */
const CHUNK = 100;
/**
 * Requests in flight at once. One: the sweep is bound by CPU, not waiting, and a DELETE beside a
 * PATCH makes the PATCH answer 404 after its write, which reads as a refused request that wrote.
 */
const PARALLEL = 1;
/** A route stops early after this long (the report shows how many it sent). */
const ROUTE_BUDGET_MS = inject('sweepRouteMs');

const routeSeed = (route: string) => {
  let h = BASE >>> 0;
  for (const ch of route) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193) >>> 0;
  return h;
};

let fx: Fixtures;
beforeAll(async () => {
  fx = await ensureFixtures();
});

interface Outcome {
  status: number;
  /** Writes the request made (D1 rows changed, R2 objects stored or deleted). */
  writes: string[];
}

/** Runs one request through the Worker's own handler with bindings that record writes; undefined when no client could send it. */
async function send(req: SweepRequest): Promise<Outcome | undefined> {
  let request: Request;
  try {
    request = new Request(`https://hangar.test/api/v1${req.path}${req.query ? `?${req.query}` : ''}`, { method: req.method, headers: req.headers, body: req.body });
  } catch {
    // A header or URL fetch itself refuses: not counted.
    return undefined;
  }
  const t = tracked(env);
  const ctx = createExecutionContext();
  let status: number;
  try {
    const res = await app.fetch(request, t.env, ctx);
    await res.arrayBuffer();
    status = res.status;
  } catch {
    // The handler threw past Hono's error handler: the runtime would answer 500.
    status = 599;
  }
  await waitOnExecutionContext(ctx);
  return { status, writes: t.writes };
}

describe('malformed-input sweep', () => {
  it('covers every operation /openapi.json lists', async () => {
    const doc = (await (await SELF.fetch('https://hangar.test/api/v1/openapi.json')).json()) as { paths: Record<string, Record<string, unknown>> };
    const listed = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m} ${path}`)).sort();
    expect(listed).toEqual(routeDocs.map((d) => `${d.method} ${d.path}`).sort());
    // The report lists routes no run has swept yet.
    console.log(`SOAK-SWEEP-ROUTES ${JSON.stringify(routeDocs.map((d) => `${d.method.toUpperCase()} ${d.path}`))}`);
  });

  const routeOf = (doc: (typeof routeDocs)[number]) => `${doc.method.toUpperCase()} ${doc.path}`;
  // SOAK_SWEEP_ROUTE names one route exactly, or else is part of the routes to sweep.
  const exact = routeDocs.some((doc) => routeOf(doc) === ONLY);
  for (const doc of routeDocs) {
    const route = routeOf(doc);
    if (ONLY && (exact ? route !== ONLY : !route.includes(ONLY))) continue;
    it(`${route}: up to ${RUNS} malformed requests, none 5xx, none refused stores anything`, async () => {
      const seed = routeSeed(route);
      const statuses: Record<string, number> = {};
      const failures: string[] = [];
      let sent = 0;
      let stored = 0;
      let fiveXX = 0;
      const started = Date.now();
      for (let chunk = 0; sent < RUNS && !(ROUTE_BUDGET_MS && Date.now() - started > ROUTE_BUDGET_MS); chunk++) {
        const batch = fc.sample(requestsFor(doc, fx), { seed: seed + chunk, numRuns: CHUNK });
        let deleted = false;
        for (let start = 0; start < batch.length && sent < RUNS; start += PARALLEL) {
          const group = batch.slice(start, start + PARALLEL);
          const outcomes = await Promise.all(group.map(send));
          outcomes.forEach((o, k) => {
            if (!o || sent >= RUNS) return;
            sent++;
            statuses[o.status] = (statuses[o.status] ?? 0) + 1;
            const req = group[k]!;
            const where = `seed ${seed} chunk ${chunk} index ${start + k}`;
            if (o.status >= 500) {
              fiveXX++;
              if (failures.length < 5) failures.push(`${o.status} (${where}): ${show(req)}`);
            } else if (o.status >= 400 && o.writes.length) {
              stored++;
              if (failures.length < 5) failures.push(`refused ${o.status} yet wrote ${o.writes.slice(0, 3).join('; ')} (${where}): ${show(req)}`);
            }
            if (o.status < 300 && req.method === 'DELETE') deleted = true;
          });
        }
        // A request that was taken may have deleted what later ones need.
        if (deleted) fx = await ensureFixtures();
      }
      console.log(`SOAK-SWEEP ${JSON.stringify({ route, seed, sent, ms: Date.now() - started, statuses, fiveXX, stored, failures })}`);
      expect(failures, `${route}: ${fiveXX} answers 5xx, ${stored} refused requests wrote something (replay: SOAK_SEED=${BASE} SOAK_SWEEP_ROUTE='${route}' SOAK_SWEEP_RUNS=${RUNS} npm run soak:sweep)`).toEqual([]);
    });
  }
});
