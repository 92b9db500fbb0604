import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type HangarServer } from '../browser/server.ts';
import { cleanup, hangar, json, randomFile, sha256, startProxy, tempDir } from './helpers.ts';

let server: HangarServer;
let dir: string;
let env: Record<string, string>;
let bigDigest: string;

beforeAll(async () => {
  server = await startServer();
  dir = await tempDir();
  env = { HANGAR_URL: server.url, HANGAR_TOKEN: await server.token('team', 'write') };
  const out = join(dir, 'out');
  await mkdir(join(out, 'weights'), { recursive: true });
  await writeFile(join(out, 'model.json'), '{"v":1}');
  bigDigest = await randomFile(join(out, 'weights', 'big.bin'), 9 * 1024 * 1024);
  const first = await hangar(['push', out, '--model', 'team/churn', '--alias', 'production'], { env });
  expect(first.code, first.stderr).toBe(0);
  await writeFile(join(out, 'model.json'), '{"v":2}');
  const second = await hangar(['push', out, '--model', 'team/churn'], { env });
  expect(second.code, second.stderr).toBe(0);
});
afterAll(async () => {
  await server?.close();
  if (dir) await cleanup(dir);
});

describe('hangar pull', () => {
  it('writes the files of an alias, each verified against its SHA-256', async () => {
    const target = join(dir, 'pulled');
    const run = await hangar(['pull', 'team/churn@production', '-o', target, '--json'], { env });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const doc = json<{ ref: string; files: { path: string; sha256: string; state: string }[] }>(run);
    expect(doc.ref).toBe('team/churn/1');
    expect(doc.files.map((f) => [f.path, f.state])).toEqual([['model.json', 'written'], ['weights/big.bin', 'written']]);
    expect(await readFile(join(target, 'model.json'), 'utf8')).toBe('{"v":1}');
    expect(sha256(await readFile(join(target, 'weights', 'big.bin')))).toBe(bigDigest);
    expect((await readdir(join(target, 'weights'))).sort()).toEqual(['big.bin']);
  });

  it('leaves identical files alone on a second pull', async () => {
    const run = await hangar(['pull', 'team/churn/1', '-o', join(dir, 'pulled'), '--json'], { env });
    expect(run.code).toBe(0);
    expect(json<{ files: { state: string }[] }>(run).files.map((f) => f.state)).toEqual(['unchanged', 'unchanged']);
  });

  it('pulls the latest ready version for namespace/model', async () => {
    const target = join(dir, 'latest');
    const run = await hangar(['pull', 'team/churn', '-o', target], { env });
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`pulled team/churn/2 into ${target}`);
    expect(await readFile(join(target, 'model.json'), 'utf8')).toBe('{"v":2}');
  });

  it('refuses to overwrite a file with other contents unless --force, writing nothing', async () => {
    const target = join(dir, 'pulled');
    const run = await hangar(['pull', 'team/churn/2', '-o', target], { env });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('error [file-exists]');
    expect(run.stderr).toContain('--force');
    expect(await readFile(join(target, 'model.json'), 'utf8')).toBe('{"v":1}');
    const forced = await hangar(['pull', 'team/churn/2', '-o', target, '--force', '--json'], { env });
    expect(forced.code).toBe(0);
    expect(json<{ files: { path: string; state: string }[] }>(forced).files).toMatchObject([
      { path: 'model.json', state: 'written' },
      { path: 'weights/big.bin', state: 'unchanged' },
    ]);
    expect(await readFile(join(target, 'model.json'), 'utf8')).toBe('{"v":2}');
  });

  it('removes a file whose bytes do not match their SHA-256 and exits 1', async () => {
    const proxy = await startProxy(server.url, { corruptDownloads: true });
    const target = join(dir, 'corrupt');
    const run = await hangar(['pull', 'team/churn/1', '-o', target, '--concurrency', '1', '--json'], { env: { ...env, HANGAR_URL: proxy.url } });
    await proxy.close();
    expect(run.code).toBe(1);
    const { error } = json<{ error: { code: string; message: string } }>(run);
    expect(error.code, error.message).toBe("digest-mismatch");
    expect(error.message).toContain('the file was removed');
    expect(await readdir(target, { recursive: true }).then((names) => names.filter((n) => !n.endsWith('weights')))).toEqual([]);
  });

  it('answers a missing version, alias and model with the server code, and a malformed reference with usage', async () => {
    const cases: [string, string][] = [
      ['team/churn/99', 'version-not-found'],
      ['team/churn@staging', 'alias-not-found'],
      ['team/nope', 'model-not-found'],
    ];
    for (const [ref, code] of cases) {
      const run = await hangar(['pull', ref, '-o', join(dir, 'none'), '--json'], { env });
      expect(run.code, ref).toBe(1);
      expect(json<{ error: { code: string } }>(run).error.code, ref).toBe(code);
    }
    for (const ref of ['team', 'team/churn@', 'team/churn/0', 'Team/churn', 'a/b/c/d']) {
      const run = await hangar(['pull', ref], { env });
      expect(run.code, ref).toBe(2);
      expect(run.stderr, ref).toContain('is not a reference');
    }
  });

  it('refuses a bad token with unauthenticated and what to do', async () => {
    const run = await hangar(['pull', 'team/churn/1', '-o', join(dir, 'none')], { env: { ...env, HANGAR_TOKEN: 'hgr_nope' } });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('error [unauthenticated]');
    expect(run.stderr).toContain('HANGAR_TOKEN');
  });
});
