import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer } from '../../browser/server.ts';
import { installDeviceClocks } from './net.ts';
import { trialSeed } from './rng.ts';
import { runTrial, type Servers, type TrialResult } from './trial.ts';

// Before any registry opens, so every clock the library builds reads the device's time.
installDeviceClocks();

/** How many trials; `SOAK_TRIAL_SEED` replays one trial alone. */
const COUNT = Number(process.env.SOAK_TRIALS ?? 50);
const BASE = Number(process.env.SOAK_SEED ?? Math.floor(Math.random() * 2 ** 32));
const ONLY = process.env.SOAK_TRIAL_SEED;
/** Stops starting trials after this many minutes, so a loaded machine still ends the soak in time. */
const BUDGET_MS = Number(process.env.SOAK_TRIAL_MINUTES ?? 0) * 60_000;
/** A trial that runs longer than this is wedged (the harness moves on). */
const TRIAL_TIMEOUT_MS = 240_000;

let servers: Servers;
beforeAll(async () => {
  const [a, b] = await Promise.all([startServer(), startServer()]);
  servers = { a, b };
}, 180_000);
afterAll(async () => {
  await Promise.all([servers?.a.close(), servers?.b.close()]);
});

describe('fault campaign', () => {
  it(`seeded fault trials (base seed ${BASE}${ONLY ? `, replaying ${ONLY}` : `, ${COUNT} trials`})`, async () => {
    const seeds = ONLY ? [Number(ONLY)] : Array.from({ length: COUNT }, (_, i) => trialSeed(BASE, i));
    const results: TrialResult[] = [];
    const started = Date.now();
    let stoppedEarly = false;
    for (const [i, seed] of seeds.entries()) {
      if (BUDGET_MS && Date.now() - started > BUDGET_MS) {
        stoppedEarly = true;
        break;
      }
      const result = await Promise.race([
        runTrial(seed, servers),
        new Promise<TrialResult>((resolve) =>
          setTimeout(() => resolve({ seed, ms: TRIAL_TIMEOUT_MS, failures: [{ class: 'wedged', detail: `the trial did not end within ${TRIAL_TIMEOUT_MS / 1000} s` }], faults: {}, ops: {} }), TRIAL_TIMEOUT_MS).unref(),
        ),
      ]).catch((err: Error): TrialResult => ({ seed, ms: 0, failures: [{ class: 'harness', detail: String(err?.stack ?? err).slice(0, 600) }], faults: {}, ops: {} }));
      results.push(result);
      const classes = [...new Set(result.failures.map((f) => f.class))];
      const line = `trial ${i + 1}/${seeds.length} seed=${seed} ${(result.ms / 1000).toFixed(1)} s faults=${Object.keys(result.faults).join(',') || '-'}`;
      if (classes.length) {
        console.log(`FAIL ${line} → ${classes.join(', ')} (replay: SOAK_TRIAL_SEED=${seed} npm run soak:trial)`);
        for (const f of result.failures.slice(0, 6)) console.log(`    [${f.class}] ${f.detail}`);
      } else if (process.env.SOAK_VERBOSE) console.log(`ok   ${line}`);
    }
    const out = process.env.SOAK_OUT;
    if (out) writeFileSync(out, JSON.stringify({ base: BASE, requested: seeds.length, stoppedEarly, results }, null, 1));
    const failed = results.filter((r) => r.failures.length);
    expect(
      failed.map((r) => `seed ${r.seed}: ${[...new Set(r.failures.map((f) => f.class))].join(', ')}`),
      `base seed ${BASE}: ${failed.length} of ${results.length} trials failed`,
    ).toEqual([]);
  });
});
