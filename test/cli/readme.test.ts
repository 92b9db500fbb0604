import { spawn } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startServer, type HangarServer } from '../browser/server.ts';
import { CLI, cleanup, sha256, tempDir } from './helpers.ts';

const root = new URL('../..', import.meta.url).pathname;
let server: HangarServer;
let dir: string;

beforeAll(async () => {
  server = await startServer();
  dir = await tempDir();
});
afterAll(async () => {
  await server?.close();
  if (dir) await cleanup(dir);
});

/** The fenced block that follows the README's comment naming this file. */
async function readmeBlock(): Promise<string> {
  const readme = await readFile(join(root, 'README.md'), 'utf8');
  const m = /<!-- test\/cli\/readme\.test\.ts[^\n]*-->\n```sh\n([\s\S]*?)```/.exec(readme);
  if (!m) throw new Error('README.md has no sh block marked for test/cli/readme.test.ts');
  return m[1]!;
}

it("runs the README's CLI example: push from CI, ls, log, alias, pull", async () => {
  await mkdir(join(dir, 'out'));
  await writeFile(join(dir, 'out/model.json'), '{"format":"layers-model"}');
  await writeFile(join(dir, 'metrics.json'), '{"accuracy": 0.93, "loss": [0.9, 0.4]}');
  await writeFile(join(dir, 'params.json'), '{"lr": 0.01}');
  const block = await readmeBlock();
  // The README's own `export HANGAR_URL=… HANGAR_TOKEN=…` names a placeholder server: the
  // test's come from the environment instead. `npx hangar` runs the built command.
  const script = [
    'set -euo pipefail',
    `npx() { if [ "$1" = hangar ]; then shift; node ${JSON.stringify(CLI)} "$@"; else command npx "$@"; fi; }`,
    block.replace(/^export HANGAR_URL=.*$/m, ''),
  ].join('\n');
  const env = { ...process.env, HANGAR_URL: server.url, HANGAR_TOKEN: await server.token('team', 'write'), GIT_SHA: 'a1b2c3d' };
  const child = spawn('bash', ['-c', script], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const code = await new Promise((r) => child.on('close', r));
  expect(code, out).toBe(0);
  expect(out).toContain('team/churn/1');
  expect(await readFile(join(dir, 'model/model.json'), 'utf8')).toBe('{"format":"layers-model"}');
  const version = (await (await server.api('/namespaces/team/models/churn/versions/1')).json()) as Record<string, unknown>;
  expect(version).toMatchObject({ version: 'a1b2c3d', status: 'ready', metadata: { lr: 0.01, dataset: '2024-q3' } });
  expect((version['uniqueTags'] as string[]).sort()).toEqual(['production', 'staging']);
  const { metrics } = (await (await server.api('/namespaces/team/models/churn/versions/1/metrics')).json()) as { metrics: Record<string, { last: number }> };
  expect(metrics['accuracy']!.last).toBe(0.94);
  expect(sha256(await readFile(join(dir, 'model/model.json')))).toBe(sha256('{"format":"layers-model"}'));
});
