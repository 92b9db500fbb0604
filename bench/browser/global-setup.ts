/// <reference types="node" />
import { createServer } from 'vite';
import type { TestProject } from 'vitest/node';
import pkg from '../../package.json' with { type: 'json' };

// The Vite dev server of the browser benchmarks: as test/browser/global-setup.ts (one server over
// the whole repository, every runtime dependency bundled before the first page loads), plus one
// alias: pouchdb-browser (the sync figures' peer) imports Node's `events`, which Vite leaves out of
// browser bundles and no package here provides; events-shim.js stands in for it.
const root = new URL('../..', import.meta.url).pathname;
const events = new URL('./events-shim.js', import.meta.url).pathname;

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const server = await createServer({
    configFile: false,
    root,
    logLevel: 'warn',
    clearScreen: false,
    cacheDir: `node_modules/.vite/${project.name || 'bench-browser'}`,
    resolve: { alias: { events } },
    server: { host: '127.0.0.1', port: 0, strictPort: true, hmr: false, watch: null },
    optimizeDeps: {
      entries: ['test/browser/fixtures/**/*.html', 'bench/browser/**/*.html'],
      include: [...Object.keys(pkg.dependencies), 'pouchdb-browser'],
    },
  });
  await server.listen();
  const { port } = server.httpServer!.address() as { port: number };
  project.provide('baseUrl', `http://127.0.0.1:${port}`);
  return () => server.close();
}
