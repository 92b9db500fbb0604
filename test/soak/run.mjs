// `npm run soak` (the campaign, writing docs/RELIABILITY.md) and `npm run test:soak` (--ci: the
// fixed share inside `npm test`). Runs the malformed-input sweep in workerd and the seeded fault
// trials against `wrangler dev`, one after the other, with one base seed for both.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, freemem, tmpdir, totalmem, type as osType, release } from 'node:os';
import { join } from 'node:path';

const root = new URL('../..', import.meta.url).pathname;
const ci = process.argv.includes('--ci');
const env = process.env;
/** CI runs a fixed share with a fixed seed, so a red CI replays; the campaign draws a seed unless given one. */
const seed = Number(env.SOAK_SEED ?? (ci ? 20261206 : Math.floor(Math.random() * 2 ** 32)));
const trials = Number(env.SOAK_TRIALS ?? (ci ? 50 : 1000));
const sweepRuns = Number(env.SOAK_SWEEP_RUNS ?? (ci ? 200 : 10_000));
/** Minutes after which the campaign starts no new trial (0: none), so a busy machine still ends in time. */
const trialMinutes = Number(env.SOAK_TRIAL_MINUTES ?? (ci ? 0 : 28));
/** Seconds after which one route of the sweep stops early (0: none): 51 routes × 25 s bound the sweep near 21 minutes. */
const routeSeconds = Number(env.SOAK_SWEEP_ROUTE_SECONDS ?? (ci ? 0 : 25));
const parts = (env.SOAK_PARTS ?? 'sweep,trials').split(',');

function run(config, extraEnv) {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(join(root, 'node_modules/.bin/vitest'), ['run', '--config', config], { cwd: root, env: { ...env, ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      process.stdout.write(d);
    });
    child.stderr.on('data', (d) => process.stderr.write(d));
    child.on('exit', (code) => resolve({ code: code ?? 1, out, ms: Date.now() - started }));
  });
}

console.log(`soak: base seed ${seed}; ${parts.includes('trials') ? `${trials} trials` : 'no trials'}; ${parts.includes('sweep') ? `${sweepRuns} requests per route` : 'no sweep'}${ci ? ' (CI share)' : ''}`);
const started = new Date();
const tmp = mkdtempSync(join(tmpdir(), 'hangar-soak-'));
let sweep = { code: 0, out: '', ms: 0 };
let trial = { code: 0, out: '', ms: 0 };
if (parts.includes('sweep')) sweep = await run('test/soak/sweep/vitest.config.ts', { SOAK_SEED: String(seed), SOAK_SWEEP_RUNS: String(sweepRuns), SOAK_SWEEP_ROUTE_MS: String(routeSeconds * 1000) });
const out = join(tmp, 'trials.json');
if (parts.includes('trials')) {
  trial = await run('test/soak/trials/vitest.config.ts', { SOAK_SEED: String(seed), SOAK_TRIALS: String(trials), SOAK_OUT: out, SOAK_TRIAL_MINUTES: String(trialMinutes) });
}
const routes = [...sweep.out.matchAll(/SOAK-SWEEP (\{.*\})/g)].map((m) => JSON.parse(m[1]));
let results = { base: seed, requested: 0, stoppedEarly: false, results: [] };
try {
  results = JSON.parse(readFileSync(out, 'utf8'));
} catch {
  // The trials did not get far enough to write their summary: the report says so.
}
rmSync(tmp, { recursive: true, force: true });

const failed = results.results.filter((r) => r.failures.length);
const byClass = {};
for (const r of failed) for (const c of new Set(r.failures.map((f) => f.class))) (byClass[c] ??= []).push(r);
const fiveXX = routes.reduce((s, r) => s + r.fiveXX, 0);
const stored = routes.reduce((s, r) => s + r.stored, 0);
const ok = sweep.code === 0 && trial.code === 0;
console.log(
  `soak: ${results.results.length} trials, ${failed.length} failed (${Object.entries(byClass).map(([c, rs]) => `${c} ${rs.length}`).join(', ') || 'none'}); sweep ${routes.length} routes, ${fiveXX} answers 5xx, ${stored} refused requests stored something; base seed ${seed}`,
);
if (!ci) writeReport();
process.exit(ok ? 0 : 1);

function writeReport() {
  const ms = results.results.map((r) => r.ms).sort((a, b) => a - b);
  const q = (p) => (ms.length ? (ms[Math.min(ms.length - 1, Math.floor(p * ms.length))] / 1000).toFixed(1) : '–');
  const faultTrials = {};
  const faultEvents = {};
  const ops = {};
  for (const r of results.results) {
    for (const [k, n] of Object.entries(r.faults)) {
      faultTrials[k] = (faultTrials[k] ?? 0) + 1;
      faultEvents[k] = (faultEvents[k] ?? 0) + n;
    }
    for (const [k, n] of Object.entries(r.ops)) ops[k] = (ops[k] ?? 0) + n;
  }
  const count = (c) => byClass[c]?.length ?? 0;
  const cpu = cpus();
  const lines = [
    '# Reliability',
    '',
    'Written by `npm run soak` (test/soak/run.mjs). The fault campaign of DESIGN §3 and §6: seeded trials with three',
    'clients (the real client library in Node on fake-indexeddb) against the real Worker under `wrangler dev` on local',
    'D1 and R2, and a malformed-input sweep of every route in workerd. What each trial does and checks: test/soak/README.md.',
    '',
    '## Run',
    '',
    `- Command: \`${['SOAK_SEED', 'SOAK_TRIALS', 'SOAK_SWEEP_RUNS', 'SOAK_TRIAL_MINUTES', 'SOAK_SWEEP_ROUTE_SECONDS'].filter((k) => env[k]).map((k) => `${k}=${env[k]} `).join('')}npm run soak\``,
    `- Date: ${started.toISOString()}; took ${((Date.now() - started.getTime()) / 60000).toFixed(1)} min (sweep ${(sweep.ms / 60000).toFixed(1)}, trials ${(trial.ms / 60000).toFixed(1)})`,
    `- Machine: ${cpu.length} × ${cpu[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB memory (${(freemem() / 2 ** 30).toFixed(0)} GiB free at the end), ${osType()} ${release()}, Node ${process.version}`,
    `- Base seed: ${seed} (trial i's seed is derived from it; each failing trial prints its own)`,
    '',
    '## Fault trials',
    '',
    `- Trials: ${results.results.length} of ${results.requested} requested${results.stoppedEarly ? ` (stopped after the ${trialMinutes}-minute budget)` : ''}; time per trial median ${q(0.5)} s, p95 ${q(0.95)} s, max ${q(1)} s`,
    `- **Lost: ${count('lost')}, doubled: ${count('doubled')}, wedged: ${count('wedged')}** (trials with at least one)`,
    `- Other failures (trials): ${['diverged', 'blob', 'clock', 'order', 'server-error', 'op-error', 'harness'].map((c) => `${c} ${count(c)}`).join(', ')}`,
    '',
    '| fault | trials with it | events |',
    '|---|---:|---:|',
    ...Object.keys(faultTrials)
      .sort()
      .map((k) => `| ${k} | ${faultTrials[k]} | ${faultEvents[k]} |`),
    '',
    '| write | count |',
    '|---|---:|',
    ...Object.keys(ops)
      .sort()
      .map((k) => `| ${k} | ${ops[k]} |`),
    '',
    '### Failures by class',
    '',
    ...(failed.length ? [] : ['None.']),
    ...Object.entries(byClass).flatMap(([c, rs]) => [
      `**${c}** — ${rs.length} trials; seeds ${rs.slice(0, 12).map((r) => r.seed).join(', ')}${rs.length > 12 ? ', …' : ''}`,
      '',
      ...rs.slice(0, 3).map((r) => `- seed ${r.seed}: ${r.failures.find((f) => f.class === c).detail.replaceAll('|', '\\|').slice(0, 400)}`),
      '',
    ]),
    `Replay one trial: \`SOAK_TRIAL_SEED=<seed> npm run soak:trial\`.`,
    '',
    '## Malformed-input sweep',
    '',
    `- Requests per route: up to ${sweepRuns}${routeSeconds ? ` or ${routeSeconds} s` : ''}; routes: ${routes.length}; total ${routes.reduce((s, r) => s + r.sent, 0)}; fewest on one route ${Math.min(...routes.map((r) => r.sent))}${routes.some((r) => r.sent < sweepRuns) ? ` (${routes.filter((r) => r.sent < sweepRuns).length} routes stopped at the time limit)` : ''}`,
    `- **Answers 5xx: ${fiveXX}; refused requests that stored something: ${stored}**`,
    '',
    '| route | sent | 2xx | 4xx | 5xx | refused yet stored |',
    '|---|---:|---:|---:|---:|---:|',
    ...routes.map((r) => {
      const sum = (lo) => Object.entries(r.statuses).reduce((s, [k, n]) => s + (Number(k) >= lo && Number(k) < lo + 100 ? n : 0), 0);
      return `| \`${r.route}\` | ${r.sent} | ${sum(200)} | ${sum(400)} | ${r.fiveXX} | ${r.stored} |`;
    }),
    '',
    ...(routes.some((r) => r.failures.length)
      ? ['### Sweep failures (first per route)', '', ...routes.filter((r) => r.failures.length).map((r) => `- \`${r.route}\`: ${r.failures[0].replaceAll('|', '\\|').slice(0, 500)}`), '']
      : []),
    `Replay one route: \`SOAK_SEED=${seed} SOAK_SWEEP_ROUTE='<METHOD path>' SOAK_SWEEP_RUNS=${sweepRuns} npm run soak:sweep\`.`,
    '',
  ];
  writeFileSync(join(root, 'docs/RELIABILITY.md'), lines.join('\n'));
  console.log('soak: wrote docs/RELIABILITY.md');
}
