import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type HangarServer } from '../browser/server.ts';
import { cleanup, hangar, json, tempDir } from './helpers.ts';

let server: HangarServer;
let dir: string;
let env: Record<string, string>;

beforeAll(async () => {
  server = await startServer();
  dir = await tempDir();
  env = { HANGAR_URL: server.url, HANGAR_TOKEN: await server.token('team', 'write') };
  const file = join(dir, 'model.bin');
  await writeFile(file, 'bytes');
  for (const label of ['one', 'two']) {
    const run = await hangar(['push', file, '--model', 'team/churn', '--version', label], { env });
    expect(run.code, run.stderr).toBe(0);
  }
  expect((await hangar(['push', file, '--model', 'team/fraud'], { env })).code).toBe(0);
});
afterAll(async () => {
  await server?.close();
  if (dir) await cleanup(dir);
});

describe('hangar ls', () => {
  it('lists the namespaces the token sees, a namespace\'s models, and a model\'s versions', async () => {
    expect(json<{ namespaces: string[] }>(await hangar(['ls', '--json'], { env })).namespaces).toEqual(['team']);
    const models = json<{ models: { name: string }[] }>(await hangar(['ls', 'team', '--json'], { env }));
    expect(models.models.map((m) => m.name).sort()).toEqual(['churn', 'fraud']);
    const versions = json<{ versions: { number: number; version: string; status: string }[] }>(await hangar(['ls', 'team/churn', '--json'], { env }));
    expect(versions.versions.map((v) => [v.number, v.version, v.status])).toEqual([[2, 'two', 'ready'], [1, 'one', 'ready']]);
    const text = await hangar(['ls', 'team/churn'], { env });
    expect(text.stdout.split('\n')[0]).toMatch(/^VERSION\s+LABEL\s+STATUS\s+ALIASES\s+CREATED$/);
    expect(text.stdout).toMatch(/team\/churn\/2\s+two\s+ready/);
    expect((await hangar(['ls', 'team', '--quiet'], { env })).stdout.split('\n').filter(Boolean).sort()).toEqual(['team/churn', 'team/fraud']);
  });

  it('filters, and answers a filter that does not parse with invalid-filter', async () => {
    const run = await hangar(['ls', 'team', '--filter', "name LIKE 'fr%'", '--json'], { env });
    expect(json<{ models: { name: string }[] }>(run).models.map((m) => m.name)).toEqual(['fraud']);
    const bad = await hangar(['ls', 'team', '--filter', 'name ==== 1'], { env });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('error [invalid-filter]');
    const noTarget = await hangar(['ls', '--filter', "name = 'x'"], { env });
    expect(noTarget.code).toBe(2);
  });

  it('answers a namespace the token cannot see with namespace-not-found', async () => {
    const run = await hangar(['ls', 'other', '--json'], { env });
    expect(run.code).toBe(1);
    expect(json<{ error: { code: string } }>(run).error.code).toBe('namespace-not-found');
  });
});

describe('hangar log', () => {
  it('logs metric points on a version at a step', async () => {
    const run = await hangar(['log', 'team/churn/1', 'accuracy=0.93', 'loss=0.21', '--step', '3', '--json'], { env });
    expect(run.code, run.stderr).toBe(0);
    expect(json(run)).toEqual({ ref: 'team/churn/1', step: 3, metrics: { accuracy: 0.93, loss: 0.21 } });
    const res = await server.api('/namespaces/team/models/churn/versions/1/metrics');
    const { metrics } = (await res.json()) as { metrics: Record<string, { last: number; lastStep: number }> };
    expect(metrics['accuracy']).toMatchObject({ last: 0.93, lastStep: 3 });
    expect(metrics['loss']).toMatchObject({ last: 0.21, lastStep: 3 });
  });

  it('refuses points that are not key=number and a step that is not a whole number', async () => {
    for (const args of [['log', 'team/churn/1', 'accuracy=high'], ['log', 'team/churn/1', '=1'], ['log', 'team/churn/1'], ['log', 'team/churn/1', 'a=1', '--step', '-1']]) {
      const run = await hangar(args, { env });
      expect(run.code, args.join(' ')).toBe(2);
      expect(run.stderr, args.join(' ')).toMatch(/^error \[usage\]/);
    }
  });
});

describe('hangar alias', () => {
  it('moves an alias, and refuses a move whose --expected no longer holds', async () => {
    const run = await hangar(['alias', 'team/churn', 'production', '1', '--json'], { env });
    expect(run.code, run.stderr).toBe(0);
    expect(json(run)).toMatchObject({ alias: 'production', version: 1, ref: 'team/churn/1' });
    const moved = await hangar(['alias', 'team/churn', 'production', '2', '--expected', '1'], { env });
    expect(moved.stdout).toBe('team/churn@production → team/churn/2\n');
    const stale = await hangar(['alias', 'team/churn', 'production', '1', '--expected', '1'], { env });
    expect(stale.code).toBe(1);
    expect(stale.stderr).toContain('error [alias-precondition-failed]');
    const res = await server.api('/namespaces/team/models/churn/aliases/production');
    expect(((await res.json()) as { version: number }).version).toBe(2);
  });

  it('answers a missing version and a bad alias name', async () => {
    const missing = await hangar(['alias', 'team/churn', 'production', '9'], { env });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('error [version-not-found]');
    const bad = await hangar(['alias', 'team/churn', 'v1', '1'], { env });
    expect(bad.code).toBe(2);
  });
});

describe('hangar token create', () => {
  it('makes a token with an admin token, shown once, that then works', async () => {
    const run = await hangar(['token', 'create', '--namespace', 'team', '--role', 'read', '--name', 'ci', '--json'], { env: { ...env, HANGAR_TOKEN: server.adminToken } });
    expect(run.code, run.stderr).toBe(0);
    const made = json<{ token: string; role: string; namespace: string; name: string }>(run);
    expect(made).toMatchObject({ role: 'read', namespace: 'team', name: 'ci' });
    expect(made.token).toMatch(/^hgr_/);
    const ls = await hangar(['ls', 'team', '--quiet'], { env: { ...env, HANGAR_TOKEN: made.token } });
    expect(ls.code).toBe(0);
    const quiet = await hangar(['token', 'create', '--namespace', 'team', '--role', 'write', '--quiet', '--expires', '2099-01-01'], { env: { ...env, HANGAR_TOKEN: server.adminToken } });
    expect(quiet.stdout).toMatch(/^hgr_\S+\n$/);
  });

  it('needs an admin token: permission-denied names the role', async () => {
    const run = await hangar(['token', 'create', '--namespace', 'team', '--role', 'read'], { env });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('error [permission-denied]');
    expect(run.stderr).toContain('needs a admin token');
  });

  it('refuses a bad role, namespace, origin or date with usage', async () => {
    const admin = { ...env, HANGAR_TOKEN: server.adminToken };
    for (const args of [
      ['token', 'create', '--namespace', 'team', '--role', 'owner'],
      ['token', 'create', '--namespace', 'Team', '--role', 'read'],
      ['token', 'create', '--namespace', 'team', '--role', 'read', '--origins', 'https://a.example/path'],
      ['token', 'create', '--namespace', 'team', '--role', 'read', '--expires', 'someday'],
      ['token', 'create', '--role', 'read'],
      ['token'],
    ]) {
      const run = await hangar(args, { env: admin });
      expect(run.code, args.join(' ')).toBe(2);
    }
  });
});

describe('hangar', () => {
  it('shows help with exit 0, and usage with exit 2 when no command is given', async () => {
    const help = await hangar(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('push [options] <paths...>');
    expect((await hangar(['push', '--help'])).stdout).toContain('--concurrency <n>');
    expect((await hangar([])).code).toBe(2);
  });
});
