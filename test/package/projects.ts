// The fresh projects the package test installs the tarball into. Each file is what a developer
// would write; the @ts-expect-error lines fail the type check if the package's types were `any`.
import pkg from '../../package.json' with { type: 'json' };

const tf = pkg.dependencies['@tensorflow/tfjs-core'];

/** A Vite + TypeScript app (`strict`, `moduleResolution: bundler`) using all three entry points. */
export function viteProject(tarball: string, readmeExample: string): Record<string, string> {
  return {
    'package.json': JSON.stringify({
      name: 'host-vite-app',
      private: true,
      type: 'module',
      dependencies: {
        hangar: `file:${tarball}`,
        '@tensorflow/tfjs-core': tf,
        '@tensorflow/tfjs-layers': tf,
        '@tensorflow/tfjs-backend-cpu': tf,
      },
      devDependencies: { vite: pkg.devDependencies.vite, typescript: pkg.devDependencies.typescript },
    }),
    'tsconfig.json': JSON.stringify({
      compilerOptions: {
        target: 'ES2022',
        module: 'ESNext',
        moduleResolution: 'bundler',
        lib: ['ES2022', 'DOM', 'DOM.Iterable'],
        types: ['vite/client'],
        strict: true,
        noEmit: true,
        skipLibCheck: false,
      },
      include: ['src'],
    }),
    // Module workers: Hangar's job workers split their ML code into chunks loaded on demand.
    'vite.config.ts': `import { defineConfig } from 'vite';
export default defineConfig({
  worker: { format: 'es' },
  build: { rollupOptions: { input: ['index.html', 'readme.html'] } },
});
`,
    // README.md's example, as it is, on its own page.
    'src/readme.ts': readmeExample,
    'readme.html': '<!doctype html>\n<html><head><meta charset="utf-8"><title>readme</title></head>\n<body><script type="module" src="/src/readme.ts"></script></body></html>\n',
    'index.html': '<!doctype html>\n<html><head><meta charset="utf-8"><title>host</title></head>\n<body><script type="module" src="/src/main.ts"></script></body></html>\n',
    'src/main.ts': `import { HangarError, openRegistry, type Hangar } from 'hangar';
import 'hangar/widget';
import { registerHangarRouters } from 'hangar/tfjs';

declare global {
  interface Window {
    result?: { versions: number[]; before: number[]; after: number[]; error: string };
    failure?: string;
  }
}

async function run(): Promise<void> {
  const hangar: Hangar = await openRegistry({ name: 'host-app' });
  await hangar.newModel({ namespace: 'team', name: 'churn', task: 'tabular' });
  // @ts-expect-error a model needs its namespace
  void (() => hangar.newModel({ name: 'nameless' }));

  const element = document.createElement('hangar-model');
  element.client = hangar;
  element.ref = 'team/churn';
  document.body.append(element);

  // tfjs only now, on demand: it stays out of the first chunk.
  const [tf, tfl] = await Promise.all([import('@tensorflow/tfjs-core'), import('@tensorflow/tfjs-layers'), import('@tensorflow/tfjs-backend-cpu')]);
  await tf.setBackend('cpu');
  registerHangarRouters(tf.io, hangar);
  const net = tfl.sequential({ layers: [tfl.layers.dense({ units: 2, inputShape: [3] })] });
  const x = tf.tensor2d([[0.1, 0.2, 0.3]]);
  const before = Array.from(await (net.predict(x) as typeof x).data());
  await net.save('hangar://team/churn@production');
  const loaded = await tfl.loadLayersModel('hangar://team/churn@production');
  const after = Array.from(await (loaded.predict(x) as typeof x).data());
  const versions = (await hangar.model('team', 'churn').then((m) => m.versions())).map((v) => v.number);
  const error = await hangar.find('team/nope').then(() => 'none', (e: unknown) => (e instanceof HangarError ? e.code : String(e)));
  window.result = { versions, before, after, error };
}

run().catch((err: unknown) => {
  window.failure = err instanceof Error ? (err.stack ?? err.message) : String(err);
});
`,
  };
}

/** A plain TypeScript project on Node's resolution (\`module\`/\`moduleResolution\` node16). */
export function node16Project(tarball: string): Record<string, string> {
  return {
    'package.json': JSON.stringify({
      name: 'host-node16',
      private: true,
      type: 'module',
      dependencies: { hangar: `file:${tarball}` },
      devDependencies: { typescript: pkg.devDependencies.typescript },
    }),
    'tsconfig.json': JSON.stringify({
      compilerOptions: {
        target: 'ES2022',
        module: 'node16',
        moduleResolution: 'node16',
        lib: ['ES2022', 'DOM', 'DOM.Iterable'],
        types: [],
        strict: true,
        noEmit: true,
        skipLibCheck: false,
      },
      include: ['index.ts'],
    }),
    'index.ts': `import { ErrorCode, HangarError, openRegistry, type Hangar } from 'hangar';
import { HangarModels } from 'hangar/widget';
import { HANGAR_SCHEME, registerHangarRouters } from 'hangar/tfjs';

export const open = (): Promise<Hangar> => openRegistry({ name: 'node16' });
export const code: string = ErrorCode.ModelNotFound;
export const error: Error = new HangarError(ErrorCode.Internal, 'x');
export const element: typeof HangarModels = HangarModels;
export const scheme: string = HANGAR_SCHEME;
export const routers: typeof registerHangarRouters = registerHangarRouters;
// @ts-expect-error a reference is a string
export const bad = (h: Hangar) => h.find(3);
`,
  };
}
