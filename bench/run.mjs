// `npm run bench [-- suite…]`: runs the benchmark suites, collects the figures each prints as
// `BENCH {json}` lines, and writes docs/benchmarks.json (records) and docs/BENCHMARKS.md (the
// table a person reads). Every figure is a ratio to the substrate or a peer measured in the
// same run. Running some suites replaces only their records: the others' are kept, so a suite
// that needs more (Chromium for browser figures) can be run on its own and still land in the
// same files.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const JSON_OUT = path.join(root, 'docs/benchmarks.json');
const MD_OUT = path.join(root, 'docs/BENCHMARKS.md');

/** Each suite runs a command whose stdout carries `BENCH {json}` lines. Add browser suites here. */
const SUITES = [
  {
    name: 'workerd',
    title: 'Worker API in workerd, local D1',
    command: [
      process.execPath,
      [path.join(root, 'node_modules/vitest/vitest.mjs'), 'run', '--config', 'bench/workerd/vitest.config.ts', '--exclude', 'bench/workerd/upload.bench-test.ts', '--exclude', 'bench/workerd/mlflow.bench-test.ts'],
    ],
  },
  {
    // MLflow's log-batch against Hangar's own metrics route, in the same run.
    name: 'mlflow',
    title: 'MLflow clients: runs/log-batch against Hangar’s metrics route in workerd, local D1',
    command: [process.execPath, [path.join(root, 'node_modules/vitest/vitest.mjs'), 'run', '--config', 'bench/workerd/vitest.config.ts', 'bench/workerd/mlflow.bench-test.ts']],
  },
  {
    // Uploads of 256 MiB and 2 GiB through the resumable upload API: about 15 minutes on its own.
    name: 'upload',
    title: 'Artifact uploads in workerd, local R2',
    command: [process.execPath, [path.join(root, 'node_modules/vitest/vitest.mjs'), 'run', '--config', 'bench/workerd/vitest.config.ts', 'bench/workerd/upload.bench-test.ts']],
  },
  {
    // Needs Chromium (/usr/bin/chromium); its figures name the Chromium version they ran on.
    name: 'browser',
    title: 'Client library in headless Chromium, real IndexedDB',
    command: [
      process.execPath,
      [
        path.join(root, 'node_modules/vitest/vitest.mjs'),
        ...['run', '--config', 'bench/browser/vitest.config.ts', '--exclude', 'bench/browser/widget.bench-test.ts', '--exclude', 'bench/browser/app.bench-test.ts'],
        ...['--exclude', 'bench/browser/tabular.bench-test.ts', '--exclude', 'bench/browser/live.bench-test.ts', '--exclude', 'bench/browser/bootstrap.bench-test.ts'],
      ],
    ],
    packages: ['dexie', 'vite', 'playwright-core', 'vitest'],
  },
  {
    // The widget's elements in headless Chromium, from the built script-tag bundle.
    name: 'widget',
    title: 'Widget elements in headless Chromium',
    command: [process.execPath, [path.join(root, 'node_modules/vitest/vitest.mjs'), 'run', '--config', 'bench/browser/vitest.config.ts', 'bench/browser/widget.bench-test.ts']],
    packages: ['lit', 'uplot', 'vite', 'playwright-core', 'vitest'],
  },
  {
    // The web app's production build (service worker included) in headless Chromium.
    name: 'app',
    title: 'The web app in headless Chromium: production build, served offline by its service worker',
    command: [process.execPath, [path.join(root, 'node_modules/vitest/vitest.mjs'), 'run', '--config', 'bench/browser/vitest.config.ts', 'bench/browser/app.bench-test.ts']],
    packages: ['vite', 'vite-plugin-pwa', 'lit', 'playwright-core', 'vitest'],
  },
  {
    // Tabular training on messy data: held-out quality with injected missing cells, in Node on tfjs cpu.
    name: 'tabular',
    title: 'Tabular modules on generated data with missing cells, tfjs cpu in Node',
    command: [process.execPath, [path.join(root, 'node_modules/vitest/vitest.mjs'), 'run', '--config', 'bench/tabular/vitest.config.ts']],
    packages: ['@tensorflow/tfjs-core', 'papaparse', 'vitest'],
  },
  {
    // Profiling and preprocessing a large CSV in a Web Worker, against papaparse alone, in headless Chromium.
    name: 'tabular-browser',
    title: 'Tabular data preparation in a Web Worker in headless Chromium',
    command: [process.execPath, [path.join(root, 'node_modules/vitest/vitest.mjs'), 'run', '--config', 'bench/browser/vitest.config.ts', 'bench/browser/tabular.bench-test.ts']],
    packages: ['papaparse', 'vite', 'playwright-core', 'vitest'],
  },
  {
    // Live updates: two Chromium profiles and the Worker (with its Durable Object) under wrangler dev.
    name: 'live',
    title: 'Live updates: two Chromium profiles against the Worker and its Durable Object under wrangler dev',
    command: [process.execPath, [path.join(root, 'node_modules/vitest/vitest.mjs'), 'run', '--config', 'bench/browser/vitest.config.ts', 'bench/browser/live.bench-test.ts']],
    packages: ['wrangler', '@cloudflare/workerd-linux-64', 'dexie', 'playwright-core', 'vitest'],
  },
  {
    // Bootstrap at the issue's sizes: 1,000,000, 10,000,000 and 100,000,000 points seeded straight into local D1 (10–15 minutes, not timed), then fresh Chromium profiles sync them from wrangler dev.
    name: 'bootstrap',
    title: 'Bootstrap: fresh Chromium profiles against the Worker under wrangler dev, local D1 seeded directly',
    command: [process.execPath, [path.join(root, 'node_modules/vitest/vitest.mjs'), 'run', '--config', 'bench/browser/vitest.config.ts', 'bench/browser/bootstrap.bench-test.ts']],
    packages: ['wrangler', '@cloudflare/workerd-linux-64', 'miniflare', 'dexie', 'playwright-core', 'vitest'],
  },
  {
    // The built `hangar` command in its own Node process, against wrangler dev on local R2.
    name: 'cli',
    title: 'The hangar command against the Worker under wrangler dev, local R2',
    command: [process.execPath, [path.join(root, 'node_modules/vitest/vitest.mjs'), 'run', '--config', 'bench/cli/vitest.config.ts', '--exclude', 'bench/cli/webhook.bench-test.ts']],
    packages: ['wrangler', '@cloudflare/workerd-linux-64', 'commander', 'vitest'],
  },
  {
    // The Worker and its local Queue under wrangler dev, to a receiver on loopback.
    name: 'webhooks',
    title: 'Webhook delivery: the Worker and its local Queue under wrangler dev',
    command: [process.execPath, [path.join(root, 'node_modules/vitest/vitest.mjs'), 'run', '--config', 'bench/cli/vitest.config.ts', 'bench/cli/webhook.bench-test.ts']],
    packages: ['wrangler', '@cloudflare/workerd-linux-64', 'standardwebhooks', 'vitest'],
  },
];

/** Runs a command, echoing its output, and resolves with its stdout. */
function run([cmd, args]) {
  return new Promise((resolve, reject) => {
    const env = { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: 'false', WRANGLER_SEND_METRICS: 'false' };
    const child = spawn(cmd, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk) => {
      out += chunk;
      process.stdout.write(chunk);
    });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd} ${args.join(' ')} exited with ${code}`))));
  });
}

/** Parses "≤ 1.5", "<= 1.5", "≥ 2" and the like; checks the ratio (or the value when there is no baseline). */
function meetsGoal(goal, figure) {
  if (goal == null) return null;
  const m = /^\s*(≤|<=|<|≥|>=|>)\s*([0-9.]+)\s*$/.exec(goal);
  if (!m) throw new Error(`cannot read the goal "${goal}" of "${figure.name}"`);
  const x = figure.ratio ?? figure.value;
  const limit = Number(m[2]);
  return { '≤': x <= limit, '<=': x <= limit, '<': x < limit, '≥': x >= limit, '>=': x >= limit, '>': x > limit }[m[1]];
}

/** A printed figure as a record: ratio and meetsGoal filled in, and where and when it was measured. */
function toRecord(raw, runInfo) {
  const { name, value, unit, baseline = null, goal = null, ...rest } = raw;
  if (typeof name !== 'string' || typeof value !== 'number' || !(value > 0) || typeof unit !== 'string') {
    throw new Error(`suite ${runInfo.suite} printed a figure without a name, a positive value or a unit: ${JSON.stringify(raw)}`);
  }
  const ratio = typeof baseline === 'number' && baseline > 0 ? Math.round((value / baseline) * 100) / 100 : null;
  const record = { name, value, unit, baseline, ratio, goal };
  // Versions a figure names (the browser's) join the run's package versions.
  const versions = { ...runInfo.versions, ...rest.versions };
  return { ...record, meetsGoal: meetsGoal(goal, record), ...rest, ...runInfo, versions };
}

function machine() {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
  };
}

const fmt = (x, unit = '') => (x == null ? '—' : `${Number.isInteger(x) ? x : x.toFixed(x < 10 ? 2 : 1)}${unit ? ` ${unit}` : ''}`);

function markdown(records) {
  const lines = [
    '# Benchmarks',
    '',
    'Written by `npm run bench` (bench/run.mjs); do not edit by hand. Each figure is set against the',
    'substrate (or a peer) doing the same work in the same run: ratio = value / baseline, so below 1 is',
    'faster than the baseline. Raw records, with every sample, are in [benchmarks.json](benchmarks.json).',
    '',
    '| Figure | Value | Baseline | Ratio | Goal | Meets goal |',
    '|---|---:|---:|---:|:---:|:---:|',
    ...records.map(
      (r) =>
        `| ${r.name} | ${fmt(r.value, r.unit)} | ${fmt(r.baseline, r.unit)} | ${fmt(r.ratio)} | ${r.goal ?? '—'} | ${
          r.meetsGoal == null ? '—' : r.meetsGoal ? 'yes' : '**no**'
        } |`,
    ),
    '',
    '## How each was measured',
    '',
    ...records.filter((r) => r.note).map((r) => `- **${r.name}** — ${r.note}`),
    '',
    '## Runs',
    '',
  ];
  const bySuite = new Map(records.map((r) => [r.suite, r]));
  for (const r of bySuite.values()) {
    const m = r.machine;
    const versions = Object.entries(r.versions ?? {}).map(([p, v]) => `${p} ${v}`);
    lines.push(
      `- \`${r.suite}\` (${r.suiteTitle}): \`${r.command}\`, measured ${r.measuredAt}; ` +
        `${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB memory, ${m.os}; Node ${m.node}${versions.length ? `; ${versions.join(', ')}` : ''}.`,
    );
  }
  return `${lines.join('\n')}\n`;
}

function versionOf(pkg) {
  try {
    return JSON.parse(readFileSync(path.join(root, 'node_modules', pkg, 'package.json'), 'utf8')).version;
  } catch {
    return undefined;
  }
}

async function main() {
  // `--report`: writes docs/BENCHMARKS.md again from the records, running nothing.
  if (process.argv.includes('--report')) {
    writeFileSync(MD_OUT, markdown(JSON.parse(readFileSync(JSON_OUT, 'utf8'))));
    return;
  }
  // `--only=<regex>`: runs only the benchmarks whose test names match (vitest's -t), and replaces
  // only the records of the figures they print; every other record is kept.
  const only = process.argv.find((a) => a.startsWith('--only='))?.slice('--only='.length);
  const wanted = process.argv.slice(2).filter((a) => !a.startsWith('--only='));
  const unknown = wanted.filter((w) => !SUITES.some((s) => s.name === w));
  if (unknown.length) throw new Error(`no suite ${unknown.join(', ')}; suites: ${SUITES.map((s) => s.name).join(', ')}`);
  const suites = wanted.length ? SUITES.filter((s) => wanted.includes(s.name)) : SUITES;

  // Records of suites not run now are kept as they were.
  const previous = existsSync(JSON_OUT) ? JSON.parse(readFileSync(JSON_OUT, 'utf8')) : [];
  let records = only ? previous : previous.filter((r) => !suites.some((s) => s.name === r.suite));

  for (const suite of suites) {
    const run_ = {
      suite: suite.name,
      suiteTitle: suite.title,
      command: `npm run bench -- ${suite.name}`,
      measuredAt: new Date().toISOString(),
      machine: machine(),
      versions: Object.fromEntries(
        (suite.packages ?? ['wrangler', '@cloudflare/workerd-linux-64', 'vitest']).map((p) => [p, versionOf(p)]).filter(([, v]) => v),
      ),
    };
    const [cmd, args] = suite.command;
    const out = await run(only ? [cmd, [...args, '-t', only]] : suite.command);
    // Reporters colour their output: strip ANSI escapes so a BENCH line starts its line.
    const plain = out.replace(/\x1b\[[0-9;]*m/g, '');
    const figures = [...plain.matchAll(/^\s*BENCH (\{.*\})\s*$/gm)].map((m) => toRecord(JSON.parse(m[1]), run_));
    if (figures.length === 0) throw new Error(`suite ${suite.name} printed no BENCH lines`);
    if (only) {
      // In place, so the table keeps its order; a figure not recorded before goes to its suite's end.
      for (const f of figures) {
        const at = records.findIndex((r) => r.name === f.name);
        if (at >= 0) records[at] = f;
        else records.splice(records.findLastIndex((r) => r.suite === f.suite) + 1 || records.length, 0, f);
      }
    } else records = [...records, ...figures];
  }

  writeFileSync(JSON_OUT, `${JSON.stringify(records, null, 2)}\n`);
  writeFileSync(MD_OUT, markdown(records));
  console.log(`\nwrote ${path.relative(root, JSON_OUT)} and ${path.relative(root, MD_OUT)}\n`);
  console.log(markdown(records));
  const missed = records.filter((r) => r.meetsGoal === false);
  if (missed.length) {
    console.error(`goal missed: ${missed.map((r) => `${r.name} (ratio ${r.ratio}, goal ${r.goal})`).join('; ')}`);
    process.exitCode = 1;
  }
}

main().catch((err) => {
  console.error(err.message ?? err);
  process.exit(1);
});
