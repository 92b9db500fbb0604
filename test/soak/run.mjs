// `npm run soak` (the campaign, writing docs/RELIABILITY.md) and `npm run test:soak` (--ci: the
// fixed share inside `npm test`). Runs the malformed-input sweep in workerd and the seeded fault
// trials against `wrangler dev`, one after the other, with one base seed for both.
import { execSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, freemem, tmpdir, totalmem, type as osType, release } from 'node:os';
import { join } from 'node:path';

const root = new URL('../..', import.meta.url).pathname;
const JSON_OUT = join(root, 'docs/reliability.json');
const MD_OUT = join(root, 'docs/RELIABILITY.md');
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
// `--report`: writes docs/RELIABILITY.md again from docs/reliability.json, running nothing.
if (process.argv.includes('--report')) {
  writeFileSync(MD_OUT, render(readRecord()));
  process.exit(0);
}

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
if (!ci) {
  const record = readRecord();
  const run = runInfo();
  if (parts.includes('trials')) record.trials = { run: { ...run, ms: trial.ms }, ...summarizeTrials() };
  if (parts.includes('sweep')) {
    const all = [...sweep.out.matchAll(/SOAK-SWEEP-ROUTES (\[.*\])/g)].map((m) => JSON.parse(m[1])).at(-1);
    if (all) record.routes = all;
    for (const r of routes) record.sweep[r.route] = { ...r, requested: sweepRuns, routeSeconds, run: { ...run, ms: sweep.ms } };
  }
  writeFileSync(JSON_OUT, JSON.stringify(record, null, 1) + '\n');
  writeFileSync(MD_OUT, render(record));
  console.log('soak: wrote docs/RELIABILITY.md and docs/reliability.json');
}
process.exit(ok ? 0 : 1);

/** What the last campaign of each part left: running one part (or some routes) keeps the rest. */
function readRecord() {
  try {
    const r = JSON.parse(readFileSync(JSON_OUT, 'utf8'));
    return { trials: r.trials ?? null, sweep: r.sweep ?? {}, routes: r.routes ?? [] };
  } catch {
    return { trials: null, sweep: {}, routes: [] };
  }
}

function runInfo() {
  const cpu = cpus();
  let commit = 'unknown';
  try {
    commit = execSync('git rev-parse --short HEAD', { cwd: root, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
  } catch {
    // Not a git checkout: the report says so.
  }
  const keys = ['SOAK_SEED', 'SOAK_TRIALS', 'SOAK_SWEEP_RUNS', 'SOAK_TRIAL_MINUTES', 'SOAK_SWEEP_ROUTE_SECONDS', 'SOAK_PARTS', 'SOAK_SWEEP_ROUTE'];
  return {
    command: `${keys.filter((k) => env[k] !== undefined).map((k) => `${k}=${/[\s']/.test(env[k]) ? `'${env[k]}'` : env[k]} `).join('')}npm run soak`,
    date: started.toISOString(),
    commit,
    seed,
    machine: `${cpu.length} × ${cpu[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB memory, ${osType()} ${release()}, Node ${process.version}`,
  };
}

function summarizeTrials() {
  const ms = results.results.map((r) => r.ms).sort((a, b) => a - b);
  const q = (p) => (ms.length ? ms[Math.min(ms.length - 1, Math.floor(p * ms.length))] : 0);
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
  return {
    count: results.results.length,
    requested: results.requested,
    stoppedEarly: results.stoppedEarly,
    minutes: trialMinutes,
    msQuantiles: { p50: q(0.5), p95: q(0.95), max: q(1) },
    failed: Object.fromEntries(Object.entries(byClass).map(([c, rs]) => [c, rs.map((r) => ({ seed: r.seed, detail: r.failures.find((f) => f.class === c).detail.slice(0, 400) }))])),
    faultTrials,
    faultEvents,
    ops,
  };
}

function runLines(run) {
  return [
    `- Command: \`${run.command}\` at commit ${run.commit}`,
    `- Date: ${run.date}; took ${(run.ms / 60000).toFixed(1)} min; base seed ${run.seed}`,
    `- Machine: ${run.machine}`,
  ];
}

function render(record) {
  const t = record.trials;
  const count = (c) => t?.failed[c]?.length ?? 0;
  const trialLines = !t
    ? ['No trials recorded yet: `SOAK_PARTS=trials npm run soak`.']
    : [
        ...runLines(t.run),
        '',
        `- Trials: ${t.count} of ${t.requested} requested${t.stoppedEarly ? ` (stopped after the ${t.minutes}-minute budget)` : ''}; time per trial median ${(t.msQuantiles.p50 / 1000).toFixed(1)} s, p95 ${(t.msQuantiles.p95 / 1000).toFixed(1)} s, max ${(t.msQuantiles.max / 1000).toFixed(1)} s`,
        `- **Lost: ${count('lost')}, doubled: ${count('doubled')}, wedged: ${count('wedged')}** (trials with at least one)`,
        `- Other failures (trials): ${['diverged', 'blob', 'clock', 'order', 'server-error', 'op-error', 'harness'].map((c) => `${c} ${count(c)}`).join(', ')}`,
        '',
        '| fault | trials with it | events |',
        '|---|---:|---:|',
        ...Object.keys(t.faultTrials)
          .sort()
          .map((k) => `| ${k} | ${t.faultTrials[k]} | ${t.faultEvents[k]} |`),
        '',
        '| write | count |',
        '|---|---:|',
        ...Object.keys(t.ops)
          .sort()
          .map((k) => `| ${k} | ${t.ops[k]} |`),
        '',
        '### Failures by class',
        '',
        ...(Object.keys(t.failed).length ? [] : ['None.']),
        ...Object.entries(t.failed).flatMap(([c, rs]) => [
          `**${c}** — ${rs.length} trials; seeds ${rs.slice(0, 12).map((r) => r.seed).join(', ')}${rs.length > 12 ? ', …' : ''}`,
          '',
          ...rs.slice(0, 3).map((r) => `- seed ${r.seed}: ${r.detail.replaceAll('|', '\\|')}`),
          '',
        ]),
        'Replay one trial: `SOAK_TRIAL_SEED=<seed> npm run soak:trial`.',
      ];
  const swept = Object.values(record.sweep).filter((r) => !record.routes.length || record.routes.includes(r.route));
  const missing = record.routes.filter((r) => !record.sweep[r]);
  const runs = [...new Map(swept.map((r) => [`${r.run.date}`, r])).values()];
  const sum = (r, lo) => Object.entries(r.statuses).reduce((s, [k, n]) => s + (Number(k) >= lo && Number(k) < lo + 100 ? n : 0), 0);
  const sweepLines = !swept.length
    ? ['No sweep recorded yet: `SOAK_PARTS=sweep npm run soak`.']
    : [
        ...(runs.length > 1 ? [`Routes come from ${runs.length} runs (each route's row is from the last run that swept it):`, ''] : []),
        ...runs.flatMap((r) => [...runLines(r.run), `- Requests per route: up to ${r.requested}${r.routeSeconds ? ` or ${r.routeSeconds} s` : ''}`, '']),
        `- Routes: ${swept.length}${missing.length ? ` (${missing.length} listed by the API not swept yet: ${missing.map((r) => `\`${r}\``).join(', ')})` : ''}; total ${swept.reduce((s, r) => s + r.sent, 0)} requests; fewest on one route ${Math.min(...swept.map((r) => r.sent))}`,
        `- **Answers 5xx: ${swept.reduce((s, r) => s + r.fiveXX, 0)}; refused requests that stored something: ${swept.reduce((s, r) => s + r.stored, 0)}**`,
        '',
        '| route | sent | 2xx | 4xx | 5xx | refused yet stored | commit |',
        '|---|---:|---:|---:|---:|---:|---|',
        ...swept.map((r) => `| \`${r.route}\` | ${r.sent} | ${sum(r, 200)} | ${sum(r, 400)} | ${r.fiveXX} | ${r.stored} | ${r.run.commit} |`),
        '',
        ...(swept.some((r) => r.failures.length)
          ? ['### Sweep failures (first per route)', '', ...swept.filter((r) => r.failures.length).map((r) => `- \`${r.route}\`: ${r.failures[0].replaceAll('|', '\\|').slice(0, 500)}`), '']
          : []),
        "Replay one route: `SOAK_SEED=<seed> SOAK_SWEEP_ROUTE='<METHOD path>' SOAK_SWEEP_RUNS=<n> npm run soak:sweep`.",
      ];
  return [
    '# Reliability',
    '',
    'Written by `npm run soak` (test/soak/run.mjs) from docs/reliability.json. The fault campaign of DESIGN §3 and §6:',
    'seeded trials with three clients (the real client library in Node on fake-indexeddb) against the real Worker under',
    '`wrangler dev` on local D1 and R2, and a malformed-input sweep of every route in workerd. What each trial does and',
    'checks: test/soak/README.md. Running one part (`SOAK_PARTS=trials` or `sweep`), or some routes',
    '(`SOAK_SWEEP_ROUTE`), replaces only their records; each section names the run it comes from.',
    '',
    '## Fault trials',
    '',
    ...trialLines,
    '',
    '## Malformed-input sweep',
    '',
    ...sweepLines,
    '',
  ].join('\n');
}
