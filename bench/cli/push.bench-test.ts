import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startServer, type HangarServer } from '../../test/browser/server.ts';
import { CLI, cleanup, startProxy, tempDir } from '../../test/cli/helpers.ts';
import { median, report } from '../figure.ts';

const MiB = 1024 * 1024;
// BENCH_CLI_MIB and BENCH_CLI_ROUNDS shrink the run for a quick look; the figures are for 1 GiB.
const SIZE = Number(process.env['BENCH_CLI_MIB'] ?? 1024) * MiB;
const ROUNDS = Number(process.env['BENCH_CLI_ROUNDS'] ?? 3);
const PARTS = SIZE / (8 * MiB);
const CONCURRENCY = process.env['BENCH_CLI_CONCURRENCY'];
let server: HangarServer;
let dir: string;
let file: string;
let digest: string;

beforeAll(async () => {
  server = await startServer();
  dir = await tempDir('hangar-bench-cli-');
  file = join(dir, 'model.bin');
  const fh = await open(file, 'w');
  const hash = createHash('sha256');
  for (let i = 0; i < SIZE / (8 * MiB); i++) {
    const chunk = randomBytes(8 * MiB);
    hash.update(chunk);
    await fh.write(chunk);
  }
  await fh.close();
  digest = hash.digest('hex');
});
afterAll(async () => {
  await server?.close();
  if (dir) await cleanup(dir);
});

/** Runs the built command; answers its time and its peak resident memory (VmHWM), sampled from /proc. */
function hangar(args: string[], env: Record<string, string>): Promise<{ ms: number; peakRss: number; code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const start = performance.now();
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    let peakRss = 0;
    const sample = async () => {
      const status = await readFile(`/proc/${child.pid}/status`, 'utf8').catch(() => '');
      const kb = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0);
      peakRss = Math.max(peakRss, kb * 1024);
    };
    const timer = setInterval(sample, 20);
    child.on('exit', () => clearInterval(timer));
    child.on('close', (code) => resolve({ ms: performance.now() - start, peakRss, code, stderr }));
  });
}

/** The same upload as a minimal script over the raw API: hash, start, parts in order, complete, then the records. */
async function rawUpload(namespace: string): Promise<number> {
  const start = performance.now();
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file, { highWaterMark: MiB })) hash.update(chunk as Buffer);
  const sha256 = hash.digest('hex');
  const api = (path: string, init: RequestInit & { json?: unknown } = {}) => server.api(`/namespaces/${namespace}${path}`, init);
  const started = (await (await api('/blobs/uploads', { json: { sha256, size: SIZE } })).json()) as { uploadId: string; partSize: number; partCount: number };
  const fh = await open(file, 'r');
  for (let n = 1; n <= started.partCount; n++) {
    const part = Buffer.allocUnsafe(Math.min(started.partSize, SIZE - (n - 1) * started.partSize));
    await fh.read(part, 0, part.length, (n - 1) * started.partSize);
    const res = await api(`/blobs/uploads/${started.uploadId}/parts/${n}`, { method: 'PUT', body: part });
    if (!res.ok) throw new Error(`part ${n}: ${res.status}`);
  }
  await fh.close();
  const done = await api(`/blobs/uploads/${started.uploadId}/complete`, { method: 'POST' });
  if (done.status !== 201) throw new Error(`complete: ${done.status} ${await done.text()}`);
  await api('/models', { json: { name: 'm' } });
  await api('/models/m/versions', { json: {} });
  await api('/models/m/versions/1/artifacts', { json: { path: 'model.bin', size: SIZE, sha256 } });
  return performance.now() - start;
}

it('hangar push of a large file against a minimal raw-API script, its memory, and a resume after a kill', async () => {
  const env = { HANGAR_URL: server.url, HANGAR_TOKEN: server.adminToken };
  const cli: number[] = [];
  const raw: number[] = [];
  const rss: number[] = [];
  // A warm-up of each, then rounds alternating which goes first. Each upload goes to a fresh
  // namespace, where the bytes are unknown, so every round sends all of them.
  let round = 0;
  const runCli = async (keep: boolean) => {
    const r = await hangar(['push', file, '--model', `bench-cli-${round++}/m`, ...(CONCURRENCY ? ['--concurrency', CONCURRENCY] : [])], env);
    expect(r.code, r.stderr).toBe(0);
    if (keep) {
      cli.push(r.ms);
      rss.push(r.peakRss);
    }
  };
  const runRaw = async (keep: boolean) => {
    const ms = await rawUpload(`bench-raw-${round++}`);
    if (keep) raw.push(ms);
  };
  await runCli(false);
  await runRaw(false);
  for (let i = 0; i < ROUNDS; i++) {
    if (i % 2 === 0) {
      await runCli(true);
      await runRaw(true);
    } else {
      await runRaw(true);
      await runCli(true);
    }
  }
  const tiny = join(dir, 'tiny.txt');
  await (await open(tiny, 'w')).close();
  const idle = await hangar(['push', tiny, '--model', 'bench-idle/m'], env);
  expect(idle.code, idle.stderr).toBe(0);
  const mb = (ms: number) => SIZE / 1e6 / (ms / 1000);
  report({
    name: `hangar push of a ${SIZE / MiB} MiB file: throughput`,
    value: Math.round(mb(median(cli)) * 10) / 10,
    unit: 'MB/s',
    baseline: Math.round(mb(median(raw)) * 10) / 10,
    goal: '≥ 0.9',
    note:
      `Hangar: \`hangar push FILE --model ns/m\` (the built dist/cli/hangar.mjs in its own Node process, ${CONCURRENCY ? `--concurrency ${CONCURRENCY}` : 'parts in order one at a time, its default'}): SHA-256 streamed from disk, ` +
      `POST …/blobs/uploads, ${PARTS} parts of 8 MiB, complete,` + ' then the model, a pending version, the artifact, status ready and a wait for it; baseline: a minimal ' +
      'script in the test process doing the same over the raw API (hash streamed, parts in order one at a time, complete, model, version, artifact); ' +
      `both to the Worker under wrangler dev on local R2, each round to a fresh namespace; MB = 10^6 bytes; median of ${ROUNDS} rounds after a warm-up of each, the side going first alternating.`,
    samples: cli.map((ms) => Math.round(mb(ms) * 10) / 10),
    baselineSamples: raw.map((ms) => Math.round(mb(ms) * 10) / 10),
  });
  report({
    name: `hangar push of a ${SIZE / MiB} MiB file: peak resident memory growth`,
    value: Math.round(((median(rss) - idle.peakRss) / MiB) * 10) / 10,
    unit: 'MiB',
    baseline: 100,
    goal: '≤ 1',
    note: `Peak resident set (VmHWM from /proc, sampled every 20 ms) of the push process, less that of a push of an empty file; median of ${ROUNDS} rounds; baseline: the 100 MiB budget, not a measurement.`,
    samples: rss.map((b) => Math.round(((b - idle.peakRss) / MiB) * 10) / 10),
  });

  // Resume: killed once half the parts have arrived; the re-run's parts counted by a proxy.
  const proxy = await startProxy(server.url);
  const args = ['push', file, '--model', 'bench-resume/m', '--version', 'r1'];
  const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env, HANGAR_URL: proxy.url }, stdio: 'ignore' });
  while (proxy.parts.length < PARTS / 2) await new Promise((r) => setTimeout(r, 10));
  child.kill('SIGKILL');
  await new Promise((r) => child.on('close', r));
  await proxy.close();
  const held = ((await (await server.api('/namespaces/bench-resume/blobs/uploads', { json: { sha256: digest, size: SIZE } })).json()) as { receivedParts: number[] }).receivedParts;
  const again = await startProxy(server.url);
  const rerun = await hangar(args, { ...env, HANGAR_URL: again.url });
  await again.close();
  expect(rerun.code, rerun.stderr).toBe(0);
  const resent = again.parts.filter((n) => held.includes(n)).length;
  const missing = PARTS - held.length;
  report({
    name: 'hangar push killed half-way: parts the re-run sends',
    value: again.parts.length,
    unit: 'parts',
    baseline: missing + 1,
    goal: '≤ 1',
    note:
      `The push was killed (SIGKILL) once a proxy had seen ${PARTS / 2} of ${PARTS} parts arrive; the server then held ${held.length}; the same command run again sent ` +
      `${again.parts.length} parts, ${resent} of them already held; baseline: the parts missing plus the one already-arrived part the goal allows.`,
  });
});
