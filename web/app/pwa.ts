import { Workbox } from 'workbox-window';

/**
 * Registers the service worker (built by vite-plugin-pwa into /sw.js) and calls `onUpdate`
 * when a new version waits; `update()` then activates it and reloads the page.
 */
export function registerServiceWorker(onUpdate: (update: () => void) => void): void {
  if (!('serviceWorker' in navigator) || import.meta.env.DEV) return;
  const wb = new Workbox('/sw.js', { scope: '/' });
  wb.addEventListener('waiting', () => {
    onUpdate(() => {
      wb.addEventListener('controlling', () => location.reload());
      wb.messageSkipWaiting();
    });
  });
  wb.register().catch((err: unknown) => console.warn('The service worker did not register; the app will not work offline.', err));
}
