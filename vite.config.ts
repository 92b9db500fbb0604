import { defineConfig } from 'vite';

// The web app. In development, /api goes to the local Worker that `npm start` runs beside it.
export default defineConfig({
  root: 'web/app',
  build: { outDir: '../../dist/app', emptyOutDir: true },
  // Module workers, so a worker's ML code is split and loaded only when a job needs it.
  worker: { format: 'es' },
  server: {
    proxy: { '/api': process.env.HANGAR_API_URL ?? 'http://127.0.0.1:8787' },
  },
});
