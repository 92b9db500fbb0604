// Checks that production deploys would work: the committed `wrangler types` output is
// current, and `wrangler deploy --dry-run` bundles the Worker with its bindings.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const env = { ...process.env, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false' };
const wrangler = (...args) => execFileSync('npx', ['wrangler', ...args], { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const dir = mkdtempSync(join(tmpdir(), 'hangar-deploy-'));
let failed = 0;

function check(name, fn) {
  try {
    fn();
    console.log(`✓ ${name}`);
  } catch (err) {
    failed++;
    console.error(`✗ ${name}\n${err.stdout ?? ''}${err.stderr ?? ''}${err.message}`);
  }
}

// The generated file's first lines name the command and a hash; only the declarations count.
const declarations = (text) => text.split('\n').filter((l) => !l.startsWith('//')).join('\n');

check('worker/worker-configuration.d.ts matches `npm run types`', () => {
  // Written beside the committed file, since the output names the main module by a relative path.
  const fresh = 'worker/.worker-configuration.check.d.ts';
  wrangler('types', fresh, '--include-runtime=false', '--env-file', '.dev.vars.example');
  const committed = readFileSync('worker/worker-configuration.d.ts', 'utf8');
  const current = readFileSync(fresh, 'utf8');
  rmSync(fresh);
  if (declarations(committed) !== declarations(current)) {
    throw new Error('The Env types are out of date: run `npm run types` and commit the result.');
  }
});

check('wrangler deploy --dry-run bundles the Worker', () => {
  const out = wrangler('deploy', '--dry-run', '--outdir', join(dir, 'bundle'));
  for (const binding of ['env.DB', 'env.BLOBS']) {
    if (!out.includes(binding)) throw new Error(`the dry run does not list ${binding}:\n${out}`);
  }
});

rmSync(dir, { recursive: true, force: true });
console.log(`${2 - failed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
