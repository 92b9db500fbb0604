// Checks that what users run works, outside the test pool: the committed `wrangler types`
// output is current, `wrangler deploy --dry-run` bundles the Worker with its bindings, and
// `wrangler dev` (what `npm start` runs) serves the API on local D1 and R2.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const env = { ...process.env, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false' };
const wrangler = (...args) => execFileSync('npx', ['wrangler', ...args], { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const dir = mkdtempSync(join(tmpdir(), 'hangar-deploy-'));
const results = [];

async function check(name, fn) {
  try {
    await fn();
    results.push(true);
    console.log(`✓ ${name}`);
  } catch (err) {
    results.push(false);
    console.error(`✗ ${name}\n${err.stdout ?? ''}${err.stderr ?? ''}${err.message}`);
  }
}

// The generated file's first lines name the command and a hash; only the declarations count.
const declarations = (text) => text.split('\n').filter((l) => !l.startsWith('//')).join('\n');

await check('worker/worker-configuration.d.ts matches `npm run types`', () => {
  // Written beside the committed file, since the output names the main module by a relative path.
  const fresh = 'worker/.worker-configuration.check.d.ts';
  wrangler('types', fresh, '--include-runtime=false', '--strict-vars=false', '--env-file', '.dev.vars.example');
  const current = readFileSync(fresh, 'utf8');
  rmSync(fresh);
  if (declarations(readFileSync('worker/worker-configuration.d.ts', 'utf8')) !== declarations(current)) {
    throw new Error('The Env types are out of date: run `npm run types` and commit the result.');
  }
});

await check('wrangler deploy --dry-run bundles the Worker', () => {
  const out = wrangler('deploy', '--dry-run', '--outdir', join(dir, 'bundle'));
  for (const binding of ['env.DB', 'env.BLOBS', 'env.WEBHOOKS', 'env.TOKEN_RATE_LIMIT', 'env.ADDRESS_RATE_LIMIT']) {
    if (!out.includes(binding)) throw new Error(`the dry run does not list ${binding}:\n${out}`);
  }
});

await check('wrangler dev serves the API on local D1 and R2, as npm start runs it', async () => {
  const state = join(dir, 'state');
  wrangler('d1', 'migrations', 'apply', 'DB', '--local', '--persist-to', state);
  const port = String(18000 + Math.floor(Math.random() * 2000));
  const token = 'hgr_check_token';
  const child = spawn('npx', ['wrangler', 'dev', '--local', '--ip', '127.0.0.1', '--port', port, '--persist-to', state, '--var', `HANGAR_ADMIN_TOKEN:${token}`], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let log = '';
  child.stdout.on('data', (d) => (log += d));
  child.stderr.on('data', (d) => (log += d));
  const base = `http://127.0.0.1:${port}/api/v1`;
  try {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const ok = await fetch(`${base}/health`).then((r) => r.ok, () => false);
      if (ok) break;
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`wrangler dev did not answer:\n${log}`);
      await new Promise((r) => setTimeout(r, 500));
    }
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    const created = await fetch(`${base}/namespaces/check/models`, { method: 'POST', headers, body: JSON.stringify({ name: 'smoke' }) });
    if (created.status !== 201) throw new Error(`creating a model answered ${created.status}: ${await created.text()}`);
    const bytes = new TextEncoder().encode('hello');
    const sha = Buffer.from(await crypto.subtle.digest('SHA-256', bytes)).toString('hex');
    const put = await fetch(`${base}/namespaces/check/blobs/sha256/${sha}`, { method: 'PUT', headers: { authorization: headers.authorization }, body: bytes });
    if (put.status !== 201) throw new Error(`storing a blob in R2 answered ${put.status}: ${await put.text()}`);
  } finally {
    process.kill(-child.pid, 'SIGTERM');
  }
});

rmSync(dir, { recursive: true, force: true });
const failed = results.filter((r) => !r).length;
console.log(`${results.length - failed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
