// Builds the `hangar` command into one ES module for Node ≥ 20: cli/ with shared/ and its
// libraries (commander, cli-progress, zod, papaparse) bundled in, so it needs nothing else
// installed and starts fast under npx.
import { build } from 'esbuild';
import { readFile } from 'node:fs/promises';

const root = new URL('..', import.meta.url).pathname;
const pkg = JSON.parse(await readFile(`${root}package.json`, 'utf8'));

await build({
  absWorkingDir: root,
  entryPoints: ['cli/hangar.ts'],
  outfile: 'dist/cli/hangar.mjs',
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  logLevel: 'warning',
  legalComments: 'none',
  define: { HANGAR_VERSION: JSON.stringify(pkg.version) },
  // The bundled CommonJS libraries call require() for Node's own modules.
  banner: { js: "#!/usr/bin/env node\nimport { createRequire as __hangarRequire } from 'node:module';\nconst require = __hangarRequire(import.meta.url);" },
});
