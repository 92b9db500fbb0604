import { spawn } from 'node:child_process';
import { mkdir, open, readFile, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type HangarServer } from '../browser/server.ts';
import { CLI, cleanup, hangar, json, randomFile, sha256, spawnHangar, startProxy, tempDir } from './helpers.ts';

const PART = 8 * 1024 * 1024;
let server: HangarServer;
let dir: string;
let env: Record<string, string>;

beforeAll(async () => {
  server = await startServer();
  dir = await tempDir();
  env = { HANGAR_URL: server.url, HANGAR_TOKEN: await server.token('team', 'write') };
});
afterAll(async () => {
  await server?.close();
  if (dir) await cleanup(dir);
});

async function modelFolder(name: string, files: Record<string, string>): Promise<string> {
  const folder = join(dir, name);
  for (const [path, text] of Object.entries(files)) {
    await mkdir(join(folder, path, '..'), { recursive: true });
    await writeFile(join(folder, path), text);
  }
  return folder;
}

async function get<T = Record<string, unknown>>(path: string): Promise<T> {
  const res = await server.api(path);
  expect(res.status, path).toBe(200);
  return (await res.json()) as T;
}

describe('hangar push', () => {
  it('creates the model and a ready version with files, params, metadata and metrics, moves the alias and prints the reference', async () => {
    const out = await modelFolder('out', { 'model.json': '{"format":"layers-model"}', 'weights/group1.bin': 'abcdefgh' });
    await writeFile(join(dir, 'metrics.json'), JSON.stringify({ accuracy: 0.93, loss: [0.9, 0.5, 0.3] }));
    await writeFile(join(dir, 'params.json'), JSON.stringify({ lr: 0.01, epochs: 20 }));
    const args = ['push', out, '--model', 'team/churn', '--version', 'abc123', '--metrics', join(dir, 'metrics.json')];
    args.push('--params', join(dir, 'params.json'), '--meta', 'dataset="2024-q3"', '--alias', 'staging', '--framework', 'tfjs', '--json');
    const run = await hangar(args, { env });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const doc = json<{ ref: string; status: string; modelCreated: boolean; versionCreated: boolean; uploads: { path: string; state: string }[] }>(run);
    expect(doc).toMatchObject({ ref: 'team/churn/1', status: 'ready', modelCreated: true, versionCreated: true });
    expect(doc.uploads.map((u) => [u.path, u.state])).toEqual([['model.json', 'sent'], ['weights/group1.bin', 'sent']]);

    const version = await get<{ status: string; version: string; framework: string; metadata: Record<string, unknown>; uniqueTags: string[] }>(
      '/namespaces/team/models/churn/versions/1',
    );
    expect(version).toMatchObject({ status: 'ready', version: 'abc123', framework: 'tfjs', uniqueTags: ['staging'] });
    expect(version.metadata).toMatchObject({ lr: 0.01, epochs: 20, dataset: '2024-q3' });
    const { items } = await get<{ items: { path: string; sha256: string; stored: boolean }[] }>('/namespaces/team/models/churn/versions/1/artifacts');
    expect(items.map((a) => [a.path, a.sha256, a.stored])).toEqual([
      ['model.json', sha256('{"format":"layers-model"}'), true],
      ['weights/group1.bin', sha256('abcdefgh'), true],
    ]);
    const { metrics } = await get<{ metrics: Record<string, { last: number; count: number }> }>('/namespaces/team/models/churn/versions/1/metrics');
    expect(metrics['accuracy']).toMatchObject({ last: 0.93, count: 1 });
    expect(metrics['loss']).toMatchObject({ last: 0.3, count: 3 });
  });

  it('continues the version with the same --version on a re-run: nothing sent again, no metric twice', async () => {
    const out = join(dir, 'out');
    const run = await hangar(['push', out, '--model', 'team/churn', '--version', 'abc123', '--metrics', join(dir, 'metrics.json'), '--json'], { env });
    expect(run.code).toBe(0);
    const doc = json<{ ref: string; versionCreated: boolean; uploads: { state: string }[] }>(run);
    expect(doc.ref).toBe('team/churn/1');
    expect(doc.versionCreated).toBe(false);
    expect(doc.uploads.every((u) => u.state === 'exists')).toBe(true);
    const { metrics } = await get<{ metrics: Record<string, { count: number }> }>('/namespaces/team/models/churn/versions/1/metrics');
    expect(metrics['loss']!.count).toBe(3);
  });

  it('prints lines for people, only the reference with --quiet, and no progress when stdout is not a terminal', async () => {
    const file = join(dir, 'notes.txt');
    await writeFile(file, 'hello');
    const plain = await hangar(['push', file, '--model', 'team/notes'], { env });
    expect(plain.code).toBe(0);
    expect(plain.stdout).toContain('created model team/notes');
    expect(plain.stdout.trimEnd().split('\n').at(-1)).toBe('team/notes/1');
    expect(plain.stdout).not.toMatch(/hashing|uploading|%/);
    const quiet = await hangar(['push', file, '--model', 'team/notes', '--quiet'], { env });
    expect(quiet.stdout).toBe('team/notes/2\n');
  });

  it('shows progress bars when stdout is a terminal', async () => {
    const file = join(dir, 'tty.bin');
    await randomFile(file, PART + 1);
    // `script` runs the command on a pseudo-terminal, as a person at a shell would.
    const line = [process.execPath, CLI, 'push', file, '--model', 'team/tty'].map((a) => `'${a}'`).join(' ');
    const run = await new Promise<{ code: number | null; out: string }>((resolve) => {
      const child = spawn('script', ['-qec', line, '/dev/null'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      child.on('close', (code) => resolve({ code, out }));
    });
    expect(run.code, run.out).toBe(0);
    expect(run.out).toMatch(/hashing .*100%/);
    expect(run.out).toMatch(/uploading .*100%/);
    expect(run.out).toContain('team/tty/1');
  });

  it('pushes an empty file', async () => {
    const file = join(dir, 'empty.txt');
    await writeFile(file, '');
    const run = await hangar(['push', file, '--model', 'team/empty', '--json'], { env });
    expect(run.code, run.stderr).toBe(0);
    const { items } = await get<{ items: { size: number; sha256: string; stored: boolean }[] }>('/namespaces/team/models/empty/versions/1/artifacts');
    expect(items).toMatchObject([{ size: 0, sha256: sha256(''), stored: true }]);
  });

  it('waits out a 429 as its Retry-After says, then goes on (DESIGN §4)', async () => {
    const file = join(dir, 'throttled.txt');
    await writeFile(file, 'slow down');
    const proxy = await startProxy(server.url, { throttleFirst: 2 });
    const run = await hangar(['push', file, '--model', 'team/throttled', '--json'], { env: { ...env, HANGAR_URL: proxy.url } });
    await proxy.close();
    expect(run.code, run.stderr).toBe(0);
    const [first, second, third] = proxy.requests;
    expect([first?.throttled, second?.throttled, third?.throttled]).toEqual([true, true, false]);
    // Each request again only after the second the server asked for.
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(1000);
    expect(third!.at - second!.at).toBeGreaterThanOrEqual(1000);
    const { items } = await get<{ items: { sha256: string; stored: boolean }[] }>('/namespaces/team/models/throttled/versions/1/artifacts');
    expect(items).toMatchObject([{ sha256: sha256('slow down'), stored: true }]);
  });

  it('reads metrics from a wide CSV, one row per step', async () => {
    const file = join(dir, 'history.csv');
    await writeFile(file, 'step,loss,accuracy\n0,0.9,0.5\n1,0.6,0.7\n2,0.4,0.8\n');
    const run = await hangar(['push', join(dir, 'notes.txt'), '--model', 'team/csv', '--metrics', file, '--json'], { env });
    expect(run.code).toBe(0);
    const { metrics } = await get<{ metrics: Record<string, { last: number; count: number; lastStep: number }> }>('/namespaces/team/models/csv/versions/1/metrics');
    expect(metrics['loss']).toMatchObject({ last: 0.4, count: 3, lastStep: 2 });
    expect(metrics['accuracy']).toMatchObject({ last: 0.8, count: 3 });
  });

  it('--dry-run lists what it would send and sends nothing, even without a server', async () => {
    const run = await hangar(['push', join(dir, 'out'), '--model', 'team/dry', '--dry-run', '--json']);
    expect(run.code).toBe(0);
    const doc = json<{ dryRun: boolean; files: { path: string; sha256: string }[] }>(run);
    expect(doc.dryRun).toBe(true);
    expect(doc.files.map((f) => f.path)).toEqual(['model.json', 'weights/group1.bin']);
    expect((await server.api('/namespaces/team/models/dry')).status).toBe(404);
    const text = await hangar(['push', join(dir, 'out'), '--model', 'team/dry', '--dry-run']);
    expect(text.stdout).toContain('would push 2 file(s)');
    expect(text.stdout).toContain(`sha256:${sha256('abcdefgh')}`);
  });

  it('refuses a read token with the server code and the role it needs, and records nothing', async () => {
    const reader = await server.token('team', 'read');
    const run = await hangar(['push', join(dir, 'notes.txt'), '--model', 'team/denied', '--json'], { env: { ...env, HANGAR_TOKEN: reader } });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('error [permission-denied]');
    expect(run.stderr).toContain('needs a write token');
    expect(json<{ error: { code: string; hint: string } }>(run).error).toMatchObject({ code: 'permission-denied', hint: expect.stringContaining('token create') });
    expect((await server.api('/namespaces/team/models/denied')).status).toBe(404);
  });

  it('answers usage errors with exit 2: unknown flag, unknown command, malformed model, bad --meta, bad --concurrency, no server', async () => {
    const file = join(dir, 'notes.txt');
    const cases: [string[], Record<string, string>, RegExp][] = [
      [['push', file, '--model', 'team/x', '--bogus'], env, /unknown option '--bogus'/],
      [['frobnicate'], env, /unknown command 'frobnicate'/],
      [['push', file, '--model', 'team'], env, /"team" is not "namespace\/model"/],
      [['push', file, '--model', 'Team/x'], env, /is not "namespace\/model"/],
      [['push', file, '--model', 'team/x', '--meta', 'novalue'], env, /is not key=JSON/],
      [['push', file, '--model', 'team/x', '--concurrency', '0'], env, /--concurrency "0" must be a whole number/],
      [['push', file, '--model', 'team/x', '--alias', 'v2'], env, /is not an alias/],
      [['push', file, '--model', 'team/x'], {}, /No server given/],
      [['push', file, '--model', 'team/x', '--url', 'ftp://example.com'], env, /not an http\(s\) URL/],
    ];
    for (const [args, e, message] of cases) {
      const run = await hangar(args, { env: e });
      expect(run.code, args.join(' ')).toBe(2);
      expect(run.stderr, args.join(' ')).toMatch(/^error \[usage\]: /);
      expect(run.stderr, args.join(' ')).toMatch(message);
    }
    expect((await server.api('/namespaces/team/models/x')).status).toBe(404);
    const asJson = await hangar(['push', file, '--model', 'team/x', '--bogus', '--json'], { env });
    expect(asJson.code).toBe(2);
    expect(json<{ error: { code: string; message: string } }>(asJson).error).toMatchObject({ code: 'usage', message: "unknown option '--bogus'" });
  });

  it('refuses a missing file (exit 1, file-not-found) and a path that cannot be an artifact', async () => {
    const missing = await hangar(['push', join(dir, 'nope.bin'), '--model', 'team/x'], { env });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('error [file-not-found]');
    const odd = join(dir, 'odd');
    await mkdir(odd);
    await writeFile(join(odd, 'back\\slash.bin'), 'x');
    const bad = await hangar(['push', odd, '--model', 'team/x'], { env });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('never a backslash');
  });

  it('says a URL that is not a Hangar server is not one', async () => {
    const { createServer } = await import('node:http');
    const other = createServer((_req, res) => res.writeHead(404, { 'content-type': 'text/html' }).end('<h1>Not here</h1>'));
    await new Promise<void>((r) => other.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(other.address() as { port: number }).port}`;
    try {
      const run = await hangar(['ls', 'team', '--url', url, '--json'], { env });
      expect(run.code).toBe(1);
      expect(json<{ error: { code: string } }>(run).error.code).toBe('not-a-hangar-server');
      expect(run.stderr).toContain('is not a Hangar server');
    } finally {
      other.close();
    }
  });
});

describe('hangar push of a large file', () => {
  const SIZE = 4 * PART + 12345; // five parts
  let big: string;
  let digest: string;
  beforeAll(async () => {
    big = join(dir, 'big.bin');
    digest = await randomFile(big, SIZE);
  });

  /** The upload the server keeps for these bytes, with the parts it holds (starting one answers it). */
  async function heldParts(sha: string, size: number): Promise<number[]> {
    const res = await server.api('/namespaces/team/blobs/uploads', { json: { sha256: sha, size } });
    const body = (await res.json()) as { exists: boolean; receivedParts?: number[] };
    expect(body.exists).toBe(false);
    return body.receivedParts!;
  }

  it('killed half-way, the same command sends only the parts the server lacks', async () => {
    const proxy = await startProxy(server.url);
    const args = ['push', big, '--model', 'team/big', '--version', 'run-1', '--concurrency', '1', '--json'];
    const child = spawnHangar(args, { env: { ...env, HANGAR_URL: proxy.url } });
    while (proxy.parts.length < 2) {
      if (child.exitCode !== null) throw new Error(`push ended early: ${(await child.done).stderr}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    child.kill('SIGKILL');
    await child.done;
    await proxy.close();
    const held = await heldParts(digest, SIZE);
    expect(held.length).toBeGreaterThanOrEqual(2);
    expect(held.length).toBeLessThan(5);
    // Nothing was recorded for the version: bytes go first.
    expect((await server.api('/namespaces/team/models/big')).status).toBe(404);

    const again = await startProxy(server.url);
    const run = await hangar(args, { env: { ...env, HANGAR_URL: again.url } });
    await again.close();
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const missing = [1, 2, 3, 4, 5].filter((n) => !held.includes(n));
    expect(again.parts.sort()).toEqual(missing);
    const doc = json<{ ref: string; uploads: { partsSent: number; partsSkipped: number }[] }>(run);
    expect(doc.ref).toBe('team/big/1');
    expect(doc.uploads[0]).toMatchObject({ partsSent: missing.length, partsSkipped: held.length });
    const { items } = await (await server.api('/namespaces/team/models/big/versions/1/artifacts')).json() as { items: { sha256: string; stored: boolean }[] };
    expect(items).toMatchObject([{ sha256: digest, stored: true }]);
  });

  it('a dropped connection ends with exit 1 and "run the same command again"; the re-run resumes', async () => {
    const file = join(dir, 'big2.bin');
    const sha = await randomFile(file, 2 * PART + 1);
    const flaky = await startProxy(server.url, { dropAfterParts: 1 });
    const args = ['push', file, '--model', 'team/big2', '--concurrency', '1'];
    const run = await hangar(args, { env: { ...env, HANGAR_URL: flaky.url } });
    await flaky.close();
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('error [network-error]');
    expect(run.stderr).toContain('run the same command again');
    expect(await heldParts(sha, 2 * PART + 1)).toEqual([1]);
    const proxy = await startProxy(server.url);
    const rerun = await hangar(args, { env: { ...env, HANGAR_URL: proxy.url } });
    await proxy.close();
    expect(rerun.code).toBe(0);
    expect(proxy.parts.sort()).toEqual([2, 3]);
  });

  it('refuses a file that changes while it uploads, and records nothing', async () => {
    const file = join(dir, 'changing.bin');
    await randomFile(file, 2 * PART + 10);
    // A whole second, so putting it back is exact.
    const mtime = new Date(Math.floor(Date.now() / 1000) * 1000 - 60_000);
    await utimes(file, mtime, mtime);
    // Once part 1 is on its way, rewrite a byte of the last part and put the time back, so only
    // the bytes tell: the server's digest check catches it.
    const proxy = await startProxy(server.url, {
      beforePart: async (n) => {
        if (n !== 1) return;
        const fh = await open(file, 'r+');
        await fh.write(Buffer.from([0x42, 0x43]), 0, 2, 2 * PART + 2);
        await fh.close();
        await utimes(file, mtime, mtime);
      },
    });
    const run = await hangar(['push', file, '--model', 'team/changing', '--concurrency', '1', '--json'], { env: { ...env, HANGAR_URL: proxy.url } });
    await proxy.close();
    expect(run.code).toBe(1);
    expect(json<{ error: { code: string } }>(run).error.code).toBe('file-changed');
    expect(run.stderr).toContain('no longer hash to what was read first. Nothing of it was recorded');
    expect((await server.api('/namespaces/team/models/changing')).status).toBe(404);

    // A change the file's size and time show is caught before completing.
    const grow = await startProxy(server.url, { beforePart: async (n) => (n === 2 ? writeFile(file, await readFile(file).then((b) => Buffer.concat([b, Buffer.from('more')]))) : undefined) });
    const grown = await hangar(['push', file, '--model', 'team/changing', '--concurrency', '1'], { env: { ...env, HANGAR_URL: grow.url } });
    await grow.close();
    expect(grown.code).toBe(1);
    expect(grown.stderr).toContain('error [file-changed]');
    expect((await server.api('/namespaces/team/models/changing')).status).toBe(404);
  });
});
