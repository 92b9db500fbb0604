// Builds the npm package into dist/package (DESIGN §7b), which `npm pack dist/package` packs:
//   lib/      web/client, web/widget and the hangar:// routers as ES modules with .d.ts, one file
//             per source file, so a host's bundler tree-shakes them and splits the lazy ML code;
//   cli/      the `hangar` command, one file with its libraries inside (scripts/build-cli.mjs);
//   hangar-widget.js   the widget for a <script type="module"> tag (vite.widget.config.ts);
//   package.json       exports with types conditions, bin, dependencies read from the imports.
// The repository's own package.json stays as it is: the app, tests and benches use the sources.
import { execFile } from 'node:child_process';
import { copyFile, mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = new URL('..', import.meta.url).pathname;
const out = join(root, 'dist/package');
const bin = (name) => join(root, 'node_modules/.bin', name);

await rm(out, { recursive: true, force: true });
await run(bin('tsc'), ['-p', 'tsconfig.package.json'], { cwd: root });

async function* walk(dir) {
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const full = join(dir, e.name);
    if (e.isDirectory()) yield* walk(full);
    else yield full;
  }
}

// Relative `.ts` specifiers (imports, `import()` types, and the `new URL('./x.worker.ts',
// import.meta.url)` of Web Workers) become `.js`, the files that ship.
const RELATIVE_TS = /(['"])(\.{1,2}\/[^'"\n]*?)\.ts\1/g;
const BARE = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)(['"])([^'"./][^'"]*)\1/g;
const used = new Set();
for await (const file of walk(join(out, 'lib'))) {
  if (/\.test\.|test-helpers/.test(file)) throw new Error(`a test file got into the package: ${file}`);
  const text = await readFile(file, 'utf8');
  await writeFile(file, text.replace(RELATIVE_TS, '$1$2.js$1'));
  if (!file.endsWith('.d.ts')) for (const m of text.matchAll(BARE)) used.add(m[2]);
}

const pkg = JSON.parse(await readFile(join(root, 'package.json'), 'utf8'));
/** `@scope/name/sub?url` → `@scope/name`. */
const packageOf = (spec) => spec.split('?')[0].split('/').slice(0, spec.startsWith('@') ? 2 : 1).join('/');
const dependencies = {};
for (const name of [...new Set([...used].map(packageOf))].sort()) {
  const version = pkg.dependencies[name];
  if (!version) throw new Error(`the library imports "${name}", which is not among package.json's dependencies`);
  dependencies[name] = version;
}

await run(process.execPath, [join(root, 'scripts/build-cli.mjs')], { cwd: root });
await mkdir(join(out, 'cli'));
await copyFile(join(root, 'dist/cli/hangar.mjs'), join(out, 'cli/hangar.mjs'));
await run(bin('vite'), ['build', '--config', 'vite.widget.config.ts', '--logLevel', 'warn'], { cwd: root });
await copyFile(join(root, 'dist/widget/hangar-widget.js'), join(out, 'hangar-widget.js'));
await copyFile(join(root, 'README.md'), join(out, 'README.md'));

const entry = (path) => ({ types: `./lib/${path}.d.ts`, default: `./lib/${path}.js` });
const manifest = {
  name: pkg.name,
  version: pkg.version,
  description: pkg.description,
  type: 'module',
  engines: { node: pkg.engines.node },
  exports: {
    '.': entry('web/client/index'),
    './widget': entry('web/widget/index'),
    './tfjs': entry('web/client/tfjs-io'),
    './hangar-widget.js': './hangar-widget.js',
    './package.json': './package.json',
  },
  bin: { hangar: 'cli/hangar.mjs' },
  files: ['lib', 'cli', 'hangar-widget.js', 'README.md'],
  // Only these run code when imported; a bundler may drop every other unused module.
  sideEffects: ['./lib/web/widget/index.js', './lib/web/common/comlink-errors.js', './hangar-widget.js'],
  dependencies,
};
await writeFile(join(out, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
console.log(`dist/package: hangar ${pkg.version}, dependencies ${Object.keys(dependencies).join(', ')}`);
