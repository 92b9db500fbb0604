import { gzipSync } from 'node:zlib';
import { defineConfig, type Plugin } from 'vite';

// The widget for a script tag: web/widget/index.ts (which defines every element) as ONE ES
// module, dist/widget/hangar-widget.js, with Lit and uPlot inside and nothing loaded later.
// `<script type="module" src="…/hangar-widget.js"></script>` and the elements work.

/** Fails the build if ML code got in (the widget reads a registry, it never trains), and prints the size. */
function widgetCheck(): Plugin {
  return {
    name: 'hangar-widget-check',
    generateBundle(_, bundle) {
      for (const file of Object.values(bundle)) {
        if (file.type !== 'chunk') continue;
        const ml = file.moduleIds.filter((id) => /@tensorflow|onnxruntime|web\/jobs\//.test(id));
        if (ml.length) this.error(`ML code must not be in the widget, but ${file.fileName} holds:\n${ml.join('\n')}`);
        if (process.env.WIDGET_MODULES) console.log(file.moduleIds.join('\n'));
        const bytes = Buffer.byteLength(file.code);
        const gzip = gzipSync(file.code).length;
        console.log(`${file.fileName}: ${(bytes / 1024).toFixed(1)} KiB, ${(gzip / 1024).toFixed(1)} KiB gzip`);
      }
    },
  };
}

export default defineConfig({
  // Library mode leaves process.env.NODE_ENV alone; Lit and others read it.
  define: { 'process.env.NODE_ENV': JSON.stringify('production') },
  // Production builds of dependencies (Lit's, not its dev mode) even when built from a test run,
  // where NODE_ENV is `test`.
  resolve: { conditions: ['module', 'browser', 'production'] },
  build: {
    outDir: 'dist/widget',
    emptyOutDir: true,
    target: 'es2022',
    lib: { entry: 'web/widget/index.ts', formats: ['es'], fileName: () => 'hangar-widget.js' },
    // Library mode does not minify ES output unless told to in the bundler's own options.
    rolldownOptions: { output: { codeSplitting: false, minify: true } },
  },
  plugins: [widgetCheck()],
});
