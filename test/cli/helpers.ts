import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('../..', import.meta.url).pathname;
/** The built command (global-setup.ts builds it). */
export const CLI = join(root, 'dist/cli/hangar.mjs');

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The environment of a run: the caller's, without any HANGAR_* it may hold, plus `env`. */
function envWith(env: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = { ...process.env };
  for (const k of Object.keys(out)) if (k.startsWith('HANGAR_')) delete out[k];
  for (const [k, v] of Object.entries(env)) if (v !== undefined) out[k] = v;
  return out;
}

/** Starts `hangar args…` as its own process (stdout is a pipe, not a terminal). */
export function spawnHangar(args: string[], opts: { env?: Record<string, string | undefined>; cwd?: string } = {}): ChildProcess & { done: Promise<Run> } {
  const child = spawn(process.execPath, [CLI, ...args], { cwd: opts.cwd ?? root, env: envWith(opts.env ?? {}), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const done = new Promise<Run>((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
  return Object.assign(child, { done });
}

/** Runs `hangar args…` to its end. */
export function hangar(args: string[], opts: { env?: Record<string, string | undefined>; cwd?: string } = {}): Promise<Run> {
  return spawnHangar(args, opts).done;
}

/** A fresh temporary folder, removed by `cleanup`. */
export async function tempDir(prefix = 'hangar-cli-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

export const cleanup = (dir: string) => rm(dir, { recursive: true, force: true });

/** Writes `size` random bytes to `file` in 1 MiB pieces; answers their SHA-256. */
export async function randomFile(file: string, size: number): Promise<string> {
  const hash = createHash('sha256');
  const chunks: Buffer[] = [];
  for (let left = size; left > 0; left -= 2 ** 20) {
    const b = randomBytes(Math.min(left, 2 ** 20));
    hash.update(b);
    chunks.push(b);
  }
  await writeFile(file, Buffer.concat(chunks));
  return hash.digest('hex');
}

export const sha256 = (bytes: Uint8Array | string) => createHash('sha256').update(bytes).digest('hex');

export interface Proxy {
  url: string;
  /** Part numbers the server took (2xx) through this proxy, in order of answer. */
  parts: number[];
  /** When each request arrived (ms), and whether the proxy answered it 429 itself. */
  requests: { at: number; throttled: boolean }[];
  close(): Promise<void>;
}

export interface ProxyOptions {
  /** Called before a part request is forwarded; may alter the world (a file) first. */
  beforePart?: (n: number) => void | Promise<void>;
  /** After this many parts were taken, every later request has its connection cut. */
  dropAfterParts?: number;
  /** Flips the first byte of every artifact download. */
  corruptDownloads?: boolean;
  /** Answers the first this many requests `429 rate-limited` with `Retry-After: 1`, as the Worker does. */
  throttleFirst?: number;
}

/** An HTTP proxy in front of the server that counts the upload parts it passes, and can misbehave. */
export async function startProxy(target: string, opts: ProxyOptions = {}): Promise<Proxy> {
  const upstream = new URL(target);
  const parts: number[] = [];
  const requests: { at: number; throttled: boolean }[] = [];
  // Forwarded requests not yet settled: close() waits for them, so a part whose bytes all
  // reached the proxy before its client died is on the server (or refused) when close() returns.
  const inFlight = new Set<Promise<void>>();
  const server: Server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const part = req.method === 'PUT' ? /\/blobs\/uploads\/[^/]+\/parts\/(\d+)$/.exec(req.url ?? '') : null;
    if (opts.dropAfterParts !== undefined && parts.length >= opts.dropAfterParts) {
      req.socket.destroy();
      return;
    }
    const throttled = requests.length < (opts.throttleFirst ?? 0);
    requests.push({ at: Date.now(), throttled });
    if (throttled) {
      req.resume();
      const body = JSON.stringify({ error: { code: 'rate-limited', message: 'Too many requests with this token; wait 1 s and try again.', details: { retryAfter: 1 } } });
      res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '1', 'x-hangar-error': 'rate-limited' });
      res.end(body);
      return;
    }
    if (part) await opts.beforePart?.(Number(part[1]));
    // Bytes to corrupt must be the file's own, not a compressed stream of them.
    const headers = { ...req.headers };
    if (opts.corruptDownloads) delete headers['accept-encoding'];
    const fwd = request(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers },
      (up) => {
        if (part && up.statusCode! < 300) parts.push(Number(part[1]));
        const corrupt = opts.corruptDownloads && req.method === 'GET' && /\/artifacts\/.+/.test(req.url ?? '') && up.statusCode === 200;
        res.writeHead(up.statusCode!, up.headers);
        let first = true;
        up.on('data', (chunk: Buffer) => {
          if (corrupt && first && chunk.length > 0) chunk[0] = chunk[0]! ^ 0xff;
          first = false;
          res.write(chunk);
        });
        up.on('end', () => res.end());
      },
    );
    fwd.on('error', () => res.destroy());
    const settled = new Promise<void>((r) => fwd.on('close', r));
    inFlight.add(settled);
    void settled.then(() => inFlight.delete(settled));
    // A client that died mid-body: the server must not wait for the rest.
    req.on('close', () => { if (!req.complete) fwd.destroy(); });
    req.pipe(fwd);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    parts,
    requests,
    close: async () => {
      await Promise.all([...inFlight]);
      await new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      });
    },
  };
}

/** Parses a run's stdout as the one JSON document --json promises. */
export function json<T = Record<string, unknown>>(run: Run): T {
  return JSON.parse(run.stdout) as T;
}
