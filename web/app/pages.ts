import { match, type Route } from './router.ts';

/** Each page's module, loaded when its route is first opened (or preloaded): the shell's own chunk stays small. */
const PAGES: Record<Route['page'], () => Promise<unknown>> = {
  models: () => import('./pages/models-page.element.ts'),
  model: () => import('./pages/model-page.element.ts'),
  version: () => import('./pages/version-page.element.ts'),
  experiments: () => import('./pages/experiments-page.element.ts'),
  experiment: () => import('./pages/runs-page.element.ts'),
  run: () => import('./pages/run-page.element.ts'),
  compare: () => import('./pages/compare-page.element.ts'),
  train: () => import('./pages/train-page.element.ts'),
  predict: () => import('./pages/predict-page.element.ts'),
  jobs: () => import('./pages/jobs-page.element.ts'),
  sync: () => import('./pages/sync-page.element.ts'),
  activity: () => import('./pages/activity-page.element.ts'),
  webhooks: () => import('./pages/webhooks-page.element.ts'),
  settings: () => import('./pages/settings-page.element.ts'),
  'not-found': () => Promise.resolve(),
};

const ready = new Set<Route['page']>();

/** Loads a page's module (once; later calls answer at once). */
export async function loadPage(page: Route['page']): Promise<void> {
  await PAGES[page]();
  ready.add(page);
}

/** Whether a page's module is loaded already, so that its route can render in the same update as the navigation. */
export const pageReady = (page: Route['page']): boolean => ready.has(page);

/**
 * Starts loading the module of the page at `path` (an in-app path), so that following a link
 * there does not wait for it. A failure is left to the navigation itself, which shows it.
 */
export function preload(path: string): void {
  loadPage(match(path).page).catch(() => undefined);
}

/**
 * Preloads the page of an in-app link the user points at or tabs to, in any shadow root under
 * `root`: the module is usually in by the time the click comes.
 */
export function preloadOnIntent(root: EventTarget): void {
  const seen = new Set<string>();
  const intent = (event: Event) => {
    const a = event.composedPath().find((n): n is HTMLAnchorElement => n instanceof HTMLAnchorElement);
    if (!a || a.origin !== location.origin || a.pathname.startsWith('/api/')) return;
    const page = match(a.pathname).page;
    if (seen.has(page)) return;
    seen.add(page);
    preload(a.pathname);
  };
  root.addEventListener('pointerover', intent);
  root.addEventListener('focusin', intent);
}

/** Preloads the pages at `paths` once the browser is idle (or after a second at the latest), so the page asking does not wait. */
export function preloadWhenIdle(...paths: string[]): void {
  const run = () => paths.forEach(preload);
  if ('requestIdleCallback' in window) requestIdleCallback(run, { timeout: 1000 });
  else setTimeout(run, 200);
}
