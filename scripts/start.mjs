// `npm start`: applies the local D1 migrations, then runs the Worker in workerd (local D1 and
// R2 under .wrangler/state) and the web app, and prints both URLs and the admin token.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const apiPort = process.env.HANGAR_API_PORT ?? '8787';
const webPort = process.env.HANGAR_WEB_PORT ?? '5173';
const env = { ...process.env, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false' };

/** The admin token: HANGAR_ADMIN_TOKEN from the environment wins, then .dev.vars, else a new one. */
function adminToken() {
  if (process.env.HANGAR_ADMIN_TOKEN) return { token: process.env.HANGAR_ADMIN_TOKEN, from: 'the environment' };
  const existing = existsSync('.dev.vars') ? /^HANGAR_ADMIN_TOKEN\s*=\s*"?([^"\n]+)"?/m.exec(readFileSync('.dev.vars', 'utf8')) : null;
  if (existing) return { token: existing[1], from: '.dev.vars' };
  const token = `hgr_${randomBytes(32).toString('base64url')}`;
  writeFileSync('.dev.vars', `${existsSync('.dev.vars') ? readFileSync('.dev.vars', 'utf8') : ''}HANGAR_ADMIN_TOKEN="${token}"\n`, { mode: 0o600 });
  return { token, from: 'a new .dev.vars' };
}

const { token, from } = adminToken();
const migrate = spawnSync('npx', ['wrangler', 'd1', 'migrations', 'apply', 'DB', '--local'], { env, stdio: 'inherit' });
if (migrate.status !== 0) process.exit(migrate.status ?? 1);

// A token from the environment reaches wrangler through an env file only this user can read,
// never through the command line (where `ps` would show it).
const envFile = from === 'the environment' ? writeEnvFile(token) : undefined;
// Local development allows webhook receivers on loopback and private addresses (production refuses them).
const devVars = ['--var', 'WEBHOOK_PRIVATE_ADDRESSES:allow'];
const api = spawn('npx', ['wrangler', 'dev', '--local', '--ip', '127.0.0.1', '--port', apiPort, ...devVars, ...(envFile ? ['--env-file', envFile] : [])], {
  env,
  stdio: ['ignore', 'inherit', 'inherit'],
});
const web = spawn('npx', ['vite', '--host', '127.0.0.1', '--port', webPort, '--strictPort'], {
  env: { ...env, HANGAR_API_URL: `http://127.0.0.1:${apiPort}` },
  stdio: ['ignore', 'inherit', 'inherit'],
});
// The API is what teams script against: it keeps running if the web app cannot start.
web.on('exit', (code) => {
  if (code) console.error(`\n  The web app stopped (exit ${code}); the API keeps running at http://127.0.0.1:${apiPort}/api/v1\n`);
});
api.on('exit', (code) => {
  web.kill('SIGTERM');
  if (envFile) rmSync(envFile, { force: true });
  process.exit(code ?? 0);
});

function writeEnvFile(value) {
  const dir = mkdtempSync(join(tmpdir(), 'hangar-'));
  const file = join(dir, 'admin.env');
  writeFileSync(file, `HANGAR_ADMIN_TOKEN="${value}"\n`, { mode: 0o600 });
  return file;
}

console.log(`
  Hangar API  http://127.0.0.1:${apiPort}/api/v1   (OpenAPI: /api/v1/openapi.json)
  Hangar app  http://127.0.0.1:${webPort}/
  Admin token ${token}   (from ${from})

  Try: curl -H "Authorization: Bearer ${token}" http://127.0.0.1:${apiPort}/api/v1/namespaces
`);

const stop = () => [api, web].forEach((c) => c.kill('SIGTERM'));
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
