import { defineConfig } from 'vite';
import { VitePWA } from 'vite-plugin-pwa';

// The web app. In development, /api goes to the local Worker that `npm start` runs beside it.
export default defineConfig({
  root: 'web/app',
  build: { outDir: '../../dist/app', emptyOutDir: true },
  // Module workers, so a worker's ML code is split and loaded only when a job needs it.
  worker: { format: 'es' },
  server: {
    proxy: { '/api': process.env.HANGAR_API_URL ?? 'http://127.0.0.1:8787' },
  },
  plugins: [
    VitePWA({
      strategies: 'generateSW',
      // The page registers the service worker itself (web/app/pwa.ts) and asks before updating.
      registerType: 'prompt',
      injectRegister: false,
      // Serves the manifest in development too (the page registers no service worker there).
      devOptions: { enabled: true },
      includeAssets: ['icons/icon.svg', 'icons/apple-touch-icon.png'],
      manifest: {
        name: 'Hangar',
        short_name: 'Hangar',
        description: 'An offline-first model registry: models, versions, metrics and artifacts, trained and run in the browser.',
        start_url: '/',
        scope: '/',
        display: 'standalone',
        background_color: '#f4f7fb',
        theme_color: '#1f3a68',
        icons: [
          { src: '/icons/icon-192.png', sizes: '192x192', type: 'image/png' },
          { src: '/icons/icon-512.png', sizes: '512x512', type: 'image/png' },
          { src: '/icons/maskable-512.png', sizes: '512x512', type: 'image/png', purpose: 'maskable' },
          { src: '/icons/icon.svg', sizes: 'any', type: 'image/svg+xml' },
        ],
      },
      workbox: {
        // Every chunk, the workers and the ML wasm: training and prediction must work offline.
        globPatterns: ['**/*.{js,css,html,svg,png,wasm,webmanifest}'],
        // ONNX Runtime's wasm is about 25 MB unpacked; Workbox skips files over 2 MiB by default.
        maximumFileSizeToCacheInBytes: 64 * 1024 * 1024,
        // Deep links (/models/team/churn) reload offline; the API is never answered from here.
        navigateFallback: '/index.html',
        navigateFallbackDenylist: [/^\/api\//],
        cleanupOutdatedCaches: true,
      },
    }),
  ],
});
