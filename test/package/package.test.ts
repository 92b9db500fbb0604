import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { copyFile, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { chromium, type BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type HangarServer } from '../browser/server.ts';
import { cleanup, tempDir } from '../cli/helpers.ts';
import { node16Project, viteProject } from './projects.ts';

const exec = promisify(execFile);
const root = new URL('../..', import.meta.url).pathname;
const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'];

let work: string;
let tarball: string;
let files: string[];
let vite: string;
let node16: string;

/** Runs a command to its end; throws with its output when it fails. */
async function sh(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  try {
    const { stdout } = await exec(cmd, args, { cwd, env, maxBuffer: 64 * 1024 * 1024 });
    return stdout;
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')} failed in ${cwd}:\n${e.stdout ?? ''}\n${e.stderr ?? ''}\n${e.message}`);
  }
}

async function writeProject(dir: string, project: Record<string, string>): Promise<void> {
  for (const [path, text] of Object.entries(project)) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), text);
  }
}

/**
 * Type-checks a project with `skipLibCheck: false`, so Hangar's own declarations are checked
 * too. tfjs 4.22's declarations have errors of their own under `strict` (an undeclared `Long`,
 * index signatures), which every tfjs user meets and `skipLibCheck` hides: only those are let through.
 */
async function typeCheck(dir: string): Promise<void> {
  try {
    await exec(join(dir, 'node_modules/.bin/tsc'), ['-p', '.'], { cwd: dir, maxBuffer: 64 * 1024 * 1024 });
  } catch (err) {
    const lines = ((err as { stdout?: string }).stdout ?? '').split('\n').filter((l) => /error TS\d+/.test(l));
    expect(lines.length, 'tsc failed without reporting an error').toBeGreaterThan(0);
    expect(lines.filter((l) => !l.startsWith('node_modules/@tensorflow/'))).toEqual([]);
  }
}

/** npm install from the local cache where it can: the registry only for what the cache lacks. */
const npmInstall = (dir: string) => sh('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'], dir);

beforeAll(async () => {
  work = await tempDir('hangar-package-');
  await sh(process.execPath, ['scripts/build-package.mjs'], root);
  const packed = JSON.parse(await sh('npm', ['pack', join(root, 'dist/package'), '--json', '--pack-destination', work], work)) as {
    filename: string;
    files: { path: string }[];
  }[];
  tarball = join(work, packed[0]!.filename);
  files = packed[0]!.files.map((f) => f.path);
  vite = join(work, 'vite-app');
  node16 = join(work, 'node16');
  const readme = await readFile(join(root, 'README.md'), 'utf8');
  const example = /<!-- test\/package\/package\.test\.ts[^\n]*-->\n```ts\n([\s\S]*?)```/.exec(readme)?.[1];
  if (!example) throw new Error('README.md has no ts block marked for test/package/package.test.ts');
  await writeProject(vite, viteProject(tarball, example));
  await writeProject(node16, node16Project(tarball));
  // One at a time: the machine has two cores and one npm cache.
  await npmInstall(vite);
  await npmInstall(node16);
});

afterAll(async () => {
  if (work) await cleanup(work);
});

describe('the packed tarball', () => {
  it('holds the built entry points with their types, the command and the script-tag widget, and no sources or tests', () => {
    for (const f of [
      'package.json',
      'README.md',
      'cli/hangar.mjs',
      'hangar-widget.js',
      'lib/web/client/index.js',
      'lib/web/client/index.d.ts',
      'lib/web/widget/index.js',
      'lib/web/widget/index.d.ts',
      'lib/web/client/tfjs-io.js',
      'lib/web/client/tfjs-io.d.ts',
      'lib/web/jobs/train.worker.js',
      'lib/web/common/hash.worker.js',
    ]) {
      expect(files, f).toContain(f);
    }
    const unwanted = files.filter((f) => /\.test\.|(^|\/)(test|bench|worker|migrations|scripts)\/|\.(?<!d\.)ts$|\.map$/.test(f));
    expect(unwanted).toEqual([]);
  });

  it('declares exports with types conditions and the hangar command', async () => {
    const manifest = JSON.parse(await readFile(join(vite, 'node_modules/hangar/package.json'), 'utf8')) as Record<string, unknown>;
    expect(manifest['exports']).toMatchObject({
      '.': { types: './lib/web/client/index.d.ts', default: './lib/web/client/index.js' },
      './widget': { types: './lib/web/widget/index.d.ts' },
      './tfjs': { types: './lib/web/client/tfjs-io.d.ts' },
    });
    expect(manifest['bin']).toEqual({ hangar: 'cli/hangar.mjs' });
    expect(manifest['private']).toBeUndefined();
    expect(Object.keys(manifest['dependencies'] as object)).not.toContain('hono');
  });
});

describe('a fresh node16 TypeScript project', () => {
  it('type-checks against the package under strict and node16 resolution', async () => {
    await typeCheck(node16);
  });

  it('gets the hangar command, which runs on Node', async () => {
    const help = await sh(join(node16, 'node_modules/.bin/hangar'), ['--help'], node16);
    expect(help).toContain('push [options] <paths...>');
  });
});

describe('a fresh Vite + TypeScript project', () => {
  let server: HangarServer;
  let preview: ChildProcess | undefined;
  let context: BrowserContext | undefined;
  let base: string;

  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(async () => {
    await context?.close();
    if (preview?.pid) process.kill(preview.pid);
    await server?.close();
  });

  it('type-checks under strict and bundler resolution', async () => {
    await typeCheck(vite);
  });

  it('builds, with no ML code in the first chunk', async () => {
    await sh(join(vite, 'node_modules/.bin/vite'), ['build', '--logLevel', 'warn'], vite);
    const html = await readFile(join(vite, 'dist/index.html'), 'utf8');
    const entry = /<script type="module" crossorigin src="\/(assets\/[^"]+\.js)"/.exec(html)![1]!;
    const first = await readFile(join(vite, 'dist', entry), 'utf8');
    expect(first).toContain('hangar-model');
    // A string of tfjs-core's engine, and ONNX Runtime's wasm: neither is in the page's first chunk.
    expect(first).not.toContain('backend was already registered');
    expect(first).not.toContain('ort-wasm');
    const assets = await readdir(join(vite, 'dist/assets'));
    expect(assets.some((a) => a.startsWith('train.worker'))).toBe(true);
  });

  it('runs in Chromium: opens a registry, creates a model, renders <hangar-model>, loads a model through hangar://', async () => {
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    preview = spawn(join(vite, 'node_modules/.bin/vite'), ['preview', '--host', '127.0.0.1', '--port', String(port), '--strictPort'], { cwd: vite, stdio: 'ignore' });
    for (let i = 0; i < 100 && !(await fetch(base).then((r) => r.ok, () => false)); i++) await new Promise((r) => setTimeout(r, 100));
    context = await chromium.launchPersistentContext(join(work, 'chromium-profile'), { executablePath: CHROMIUM, headless: true, args: ARGS });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(base);
    await page.waitForFunction(() => window.result !== undefined || window.failure !== undefined, null, { timeout: 60_000 });
    expect(await page.evaluate(() => window.failure)).toBeUndefined();
    const result = (await page.evaluate(() => window.result))!;
    expect(result.versions).toEqual([1]);
    expect(result.after).toEqual(result.before);
    expect(result.error).toBe('model-not-found');
    await page.waitForFunction(() => (document.querySelector('hangar-model')?.shadowRoot?.textContent ?? '').includes('production'));
    expect(errors).toEqual([]);
  });

  it("runs README.md's example: a registry, <hangar-model>, a model saved and loaded through hangar://", async () => {
    const page = await context!.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${base}/readme.html`);
    await page.waitForFunction(() => document.body.textContent?.includes('prediction: '), null, { timeout: 60_000 });
    expect(await page.evaluate(() => document.body.textContent)).toMatch(/prediction: -?\d/);
    await page.waitForFunction(() => (document.querySelector('hangar-model')?.shadowRoot?.textContent ?? '').includes('production'));
    expect(errors).toEqual([]);
  });

  it('renders <hangar-models> from a server on a plain page with only the script tag', async () => {
    const token = await server.token('team', 'read');
    const push = await sh(join(node16, 'node_modules/.bin/hangar'), ['push', join(node16, 'index.ts'), '--model', 'team/fraud', '--quiet'], node16, {
      ...process.env,
      HANGAR_URL: server.url,
      HANGAR_TOKEN: await server.token('team', 'write'),
    });
    expect(push).toBe('team/fraud/1\n');
    await copyFile(join(vite, 'node_modules/hangar/hangar-widget.js'), join(vite, 'dist/hangar-widget.js'));
    await writeFile(
      join(vite, 'dist/plain.html'),
      `<!doctype html>\n<script type="module" src="./hangar-widget.js"></script>\n<hangar-models server="${server.url}" token="${token}" namespace="team"></hangar-models>\n`,
    );
    const page = await context!.newPage();
    await page.goto(`${base}/plain.html`);
    await page.waitForFunction(() => (document.querySelector('hangar-models')?.shadowRoot?.textContent ?? '').includes('fraud'), null, { timeout: 30_000 });
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

declare global {
  interface Window {
    result?: { versions: number[]; before: number[]; after: number[]; error: string };
    failure?: string;
  }
}
