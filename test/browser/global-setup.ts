import { createServer } from 'vite';
import type { TestProject } from 'vitest/node';
import pkg from '../../package.json' with { type: 'json' };

declare module 'vitest' {
  export interface ProvidedContext {
    /** The Vite dev server every page is loaded from, e.g. `http://127.0.0.1:41234`. */
    baseUrl: string;
  }
}

const root = new URL('../..', import.meta.url).pathname;

/**
 * Starts one Vite dev server over the whole repository for the run, so a page can import any
 * source file by its path from the root (`/web/client/index.ts`) and Vite compiles it on the way.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const server = await createServer({
    // Not the app's vite.config.ts: its root is web/app and it proxies /api to a Worker.
    configFile: false,
    root,
    logLevel: 'warn',
    clearScreen: false,
    // Its own dependency cache, so a run never races `npm start` (or the other suite) over it.
    cacheDir: `node_modules/.vite/${project.name || 'browser'}`,
    server: {
      host: '127.0.0.1',
      port: 0,
      strictPort: true,
      // Others edit the tree during a run: a change must not reload a page in the middle of a test.
      hmr: false,
      watch: null,
    },
    optimizeDeps: {
      entries: ['test/browser/fixtures/**/*.html', 'bench/browser/**/*.html'],
      // Every runtime dependency is bundled before the first page loads: one Vite discovered
      // later would make it reload the page in the middle of a test.
      include: Object.keys(pkg.dependencies),
    },
  });
  await server.listen();
  // Port 0: the system picks a free port, so runs (and `npm start`) never collide.
  const { port } = server.httpServer!.address() as { port: number };
  project.provide('baseUrl', `http://127.0.0.1:${port}`);
  return () => server.close();
}
