// `npm start`: applies the local D1 migrations, then runs the Worker in workerd (local D1, R2 and
// the live Durable Object under .wrangler/state) and the web app, and prints both URLs, the
// admin token and a link that opens the app with its local server filled in.
//
// It starts beside other wrangler processes (its own free inspector port), says which port is
// taken when one is, and stops everything it started when any part stops.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const host = '127.0.0.1';
const apiPort = Number(process.env.HANGAR_API_PORT ?? 8787);
const webPort = Number(process.env.HANGAR_WEB_PORT ?? 5173);
const env = { ...process.env, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false' };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Resolves to the port if nothing listens on it, to null if something does. */
function portFree(port) {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(null));
    server.listen(port, host, () => server.close(() => resolve(port)));
  });
}

/** A port the system has free now (for the inspector, which no one needs to know). */
function anyFreePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** The admin token: HANGAR_ADMIN_TOKEN from the environment wins, then .dev.vars, else a new one. */
function adminToken() {
  if (process.env.HANGAR_ADMIN_TOKEN) return { token: process.env.HANGAR_ADMIN_TOKEN, from: 'the environment' };
  const existing = existsSync('.dev.vars') ? /^HANGAR_ADMIN_TOKEN\s*=\s*"?([^"\n]+)"?/m.exec(readFileSync('.dev.vars', 'utf8')) : null;
  if (existing) return { token: existing[1], from: '.dev.vars' };
  const token = `hgr_${randomBytes(32).toString('base64url')}`;
  writeFileSync('.dev.vars', `${existsSync('.dev.vars') ? readFileSync('.dev.vars', 'utf8') : ''}HANGAR_ADMIN_TOKEN="${token}"\n`, { mode: 0o600 });
  return { token, from: 'a new .dev.vars' };
}

function writeEnvFile(value) {
  const dir = mkdtempSync(join(tmpdir(), 'hangar-'));
  const file = join(dir, 'admin.env');
  writeFileSync(file, `HANGAR_ADMIN_TOKEN="${value}"\n`, { mode: 0o600 });
  return file;
}

for (const [port, name, variable] of [
  [apiPort, 'API', 'HANGAR_API_PORT'],
  [webPort, 'web app', 'HANGAR_WEB_PORT'],
]) {
  if ((await portFree(port)) === null) {
    console.error(`\n  Port ${port} (for the ${name}) is already taken on ${host}: another "npm start" or "wrangler dev" may be running.`);
    console.error(`  Stop it, or pick another port: ${variable}=${port + 1} npm start\n`);
    process.exit(1);
  }
}

const { token, from } = adminToken();
const migrate = spawnSync('npx', ['wrangler', 'd1', 'migrations', 'apply', 'DB', '--local'], { env, stdio: 'inherit' });
if (migrate.status !== 0) {
  console.error('\n  Applying the local D1 migrations failed (above); nothing was started.\n');
  process.exit(migrate.status ?? 1);
}

// A token from the environment reaches wrangler through an env file only this user can read,
// never through the command line (where `ps` would show it).
const envFile = from === 'the environment' ? writeEnvFile(token) : undefined;
const inspectorPort = await anyFreePort();
const apiUrl = `http://${host}:${apiPort}`;
const webUrl = `http://${host}:${webPort}`;

/** Every child runs in its own process group, so stopping it stops what it started (workerd, esbuild). */
const children = [];
function run(name, args, extraEnv = {}) {
  const child = spawn('npx', args, { env: { ...env, ...extraEnv }, stdio: ['ignore', 'inherit', 'inherit'], detached: true });
  child.name = name;
  children.push(child);
  child.on('exit', (code, signal) => {
    child.exited = true;
    if (stopping) return;
    console.error(`\n  The ${name} stopped (${signal ?? `exit ${code}`}); stopping everything else.\n`);
    shutdown(code || 1);
  });
  return child;
}

let stopping = false;
function shutdown(code = 0) {
  if (stopping) return;
  stopping = true;
  for (const c of children) {
    if (c.exited) continue;
    try {
      process.kill(-c.pid, 'SIGTERM');
    } catch {
      // Already gone.
    }
  }
  if (envFile) rmSync(envFile, { force: true });
  // Give them a moment to exit, then leave.
  setTimeout(() => process.exit(code), 1500).unref();
  Promise.all(children.filter((c) => !c.exited).map((c) => new Promise((r) => c.once('exit', r)))).then(() => process.exit(code));
}
process.on('SIGINT', () => shutdown(0));
process.on('SIGTERM', () => shutdown(0));

run('API (wrangler dev)', [
  'wrangler',
  'dev',
  '--local',
  '--ip',
  host,
  '--port',
  String(apiPort),
  '--inspector-port',
  String(inspectorPort),
  '--show-interactive-dev-session=false',
  // Local development allows webhook receivers on loopback and private addresses (production refuses them).
  '--var',
  'WEBHOOK_PRIVATE_ADDRESSES:allow',
  ...(envFile ? ['--env-file', envFile] : []),
]);
run('web app (vite)', ['vite', '--host', host, '--port', String(webPort), '--strictPort'], { HANGAR_API_URL: apiUrl });

// Print the URLs once the API answers, so what is printed works.
for (let waited = 0; !stopping; waited += 250) {
  const up = await fetch(`${apiUrl}/api/v1/health`).then((r) => r.ok, () => false);
  if (up) break;
  if (waited > 120_000) {
    console.error(`\n  The API did not answer at ${apiUrl} within two minutes; stopping.\n`);
    shutdown(1);
    break;
  }
  await sleep(250);
}

if (!stopping) {
  // The token rides in the fragment, which the browser never sends; the app takes it out of the address bar.
  const link = `${webUrl}/settings?server=${encodeURIComponent(apiUrl)}#token=${encodeURIComponent(token)}`;
  console.log(`
  Hangar API  ${apiUrl}/api/v1   (OpenAPI: /api/v1/openapi.json; live sockets at …/namespaces/{ns}/sync/live)
  Hangar app  ${webUrl}/
  Admin token ${token}   (from ${from})

  Open the app connected to this server (server and token filled in on the settings page):
    ${link}

  Try: curl -H "Authorization: Bearer ${token}" ${apiUrl}/api/v1/namespaces
`);
}
