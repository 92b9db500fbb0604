/// <reference types="node" />
// The real Worker for browser tests: `wrangler dev` on local D1 and R2 kept in a temporary
// directory, as `npm start` runs it (scripts/check-deploy.mjs checks the same start).
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

export interface HangarServer {
  /** `http://127.0.0.1:<port>`, without `/api/v1`: what a widget's `server` attribute takes. */
  url: string;
  adminToken: string;
  /** wrangler's process id while it runs: also its process group's, which holds the workerd it starts. */
  readonly pid: number | undefined;
  /** Kills wrangler (its whole process group); the data stays for `start()`. */
  stop(): Promise<void>;
  /** Starts again on the same port and the same data. */
  start(): Promise<void>;
  /** Stops and removes the data. */
  close(): Promise<void>;
  /** `fetch(url + '/api/v1' + path)`, with the admin token unless `token` says otherwise; `json` becomes the body. */
  api(path: string, init?: RequestInit & { token?: string; json?: unknown }): Promise<Response>;
  /** A new token (POST /tokens) for a namespace; `origins` limits the browser origins it works from. */
  token(namespace: string, role: 'read' | 'write' | 'admin', opts?: { origins?: string[] }): Promise<string>;
}

const root = new URL('../..', import.meta.url).pathname;
const wrangler = join(root, 'node_modules/.bin/wrangler');
// Offline: no calls home, no metrics.
const env = { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: 'false', WRANGLER_SEND_METRICS: 'false' };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A port nobody listens on now: bind port 0, read what the system gave, let it go. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface ServerOptions {
  /**
   * Runs once the migrations are applied and before the Worker starts, with the state directory
   * (wrangler's `--persist-to`): a benchmark seeds local D1 there directly.
   */
  beforeStart?: (persistTo: string) => Promise<void>;
}

/** Applies the D1 migrations to a fresh local state, then runs the Worker on it until closed. */
export async function startServer(options: ServerOptions = {}): Promise<HangarServer> {
  const state = await mkdtemp(join(tmpdir(), 'hangar-server-'));
  try {
    await promisify(execFile)(wrangler, ['d1', 'migrations', 'apply', 'DB', '--local', '--persist-to', state], { cwd: root, env });
  } catch (err) {
    await rm(state, { recursive: true, force: true });
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`applying the D1 migrations failed:\n${e.stdout ?? ''}${e.stderr ?? ''}${e.message}`);
  }
  try {
    await options.beforeStart?.(state);
  } catch (err) {
    await rm(state, { recursive: true, force: true });
    throw err;
  }
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const adminToken = `hgr_test_${crypto.randomUUID().replaceAll('-', '')}`;
  let child: ChildProcess | undefined;

  async function start(): Promise<void> {
    if (child) return;
    const inspector = await freePort();
    const args = ['dev', '--local', '--ip', '127.0.0.1', '--port', String(port), '--inspector-port', String(inspector)];
    args.push('--persist-to', state, '--var', `HANGAR_ADMIN_TOKEN:${adminToken}`, '--show-interactive-dev-session=false');
    // Local development: webhook receivers on loopback are allowed, as under `npm start`.
    args.push('--var', 'WEBHOOK_PRIVATE_ADDRESSES:allow');
    // Its own process group, so stop() ends wrangler and the workerd it starts together.
    const proc = spawn(wrangler, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    child = proc;
    let log = '';
    proc.stdout!.on('data', (d) => (log += d));
    proc.stderr!.on('data', (d) => (log += d));
    const deadline = Date.now() + 60_000;
    for (;;) {
      const ok = await fetch(`${url}/api/v1/health`).then((r) => r.ok, () => false);
      if (ok) return;
      if (proc.exitCode !== null || proc.signalCode !== null || Date.now() > deadline) {
        await stop();
        throw new Error(`wrangler dev did not answer on ${url}:\n${log}`);
      }
      await sleep(250);
    }
  }

  async function stop(): Promise<void> {
    const proc = child;
    child = undefined;
    if (!proc || proc.pid === undefined) return;
    const exited = proc.exitCode !== null || proc.signalCode !== null ? Promise.resolve() : new Promise((r) => proc.once('exit', r));
    try {
      process.kill(-proc.pid, 'SIGTERM');
    } catch {
      // The group is gone already.
    }
    await Promise.race([exited, sleep(5_000)]);
    try {
      process.kill(-proc.pid, 'SIGKILL');
    } catch {
      // Ended on SIGTERM.
    }
    // workerd may outlive wrangler for a moment: wait until the port is closed.
    for (let i = 0; i < 40; i++) {
      const up = await fetch(`${url}/api/v1/health`).then(() => true, () => false);
      if (!up) return;
      await sleep(250);
    }
  }

  async function api(path: string, init: RequestInit & { token?: string; json?: unknown } = {}): Promise<Response> {
    const { token = adminToken, json, ...rest } = init;
    const headers = new Headers(rest.headers);
    headers.set('authorization', `Bearer ${token}`);
    if (json !== undefined) headers.set('content-type', 'application/json');
    return fetch(`${url}/api/v1${path}`, { method: json !== undefined ? 'POST' : 'GET', ...rest, headers, body: json !== undefined ? JSON.stringify(json) : rest.body });
  }

  async function token(namespace: string, role: 'read' | 'write' | 'admin', opts: { origins?: string[] } = {}): Promise<string> {
    const res = await api('/tokens', { json: { namespace, role, name: `test-${role}`, ...(opts.origins ? { origins: opts.origins } : {}) } });
    const body = (await res.json()) as { token?: string };
    if (res.status !== 201 || !body.token) throw new Error(`POST /tokens answered ${res.status}: ${JSON.stringify(body)}`);
    return body.token;
  }

  await start();
  return {
    url,
    adminToken,
    get pid() {
      return child?.pid;
    },
    start,
    stop,
    async close() {
      await stop();
      await rm(state, { recursive: true, force: true });
    },
    api,
    token,
  };
}
