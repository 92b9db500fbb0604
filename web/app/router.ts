/** The app's routes: real URLs through the History API, so deep links reload (offline too, from the service worker). */
export type Route =
  | { page: 'models' }
  | { page: 'model'; namespace: string; model: string }
  | { page: 'version'; namespace: string; model: string; number: number }
  | { page: 'experiments' }
  | { page: 'experiment'; namespace: string; experiment: string }
  | { page: 'run'; namespace: string; experiment: string; number: number }
  | { page: 'compare'; namespace: string; experiment: string; numbers: number[] }
  | { page: 'train' | 'predict' | 'jobs' | 'sync' | 'activity' | 'webhooks' | 'settings' }
  | { page: 'not-found'; path: string };

const SIMPLE = ['train', 'predict', 'jobs', 'sync', 'activity', 'webhooks', 'settings'] as const;

/** The route a path names. */
export function match(path: string): Route {
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  if (parts.length === 0) return { page: 'models' };
  if (parts[0] === 'experiments') {
    if (parts.length === 1) return { page: 'experiments' };
    if (parts.length === 3) return { page: 'experiment', namespace: parts[1]!, experiment: parts[2]! };
    if (parts.length === 5 && parts[3] === 'runs' && /^\d+$/.test(parts[4]!)) return { page: 'run', namespace: parts[1]!, experiment: parts[2]!, number: Number(parts[4]) };
    if (parts.length === 5 && parts[3] === 'compare' && /^\d+(,\d+)*$/.test(parts[4]!)) {
      return { page: 'compare', namespace: parts[1]!, experiment: parts[2]!, numbers: parts[4]!.split(',').map(Number) };
    }
  }
  if (parts.length === 1 && (SIMPLE as readonly string[]).includes(parts[0]!)) return { page: parts[0] as (typeof SIMPLE)[number] };
  if (parts[0] === 'models' && parts.length === 3) return { page: 'model', namespace: parts[1]!, model: parts[2]! };
  if (parts[0] === 'models' && parts.length === 5 && parts[3] === 'versions' && /^\d+$/.test(parts[4]!)) {
    return { page: 'version', namespace: parts[1]!, model: parts[2]!, number: Number(parts[4]) };
  }
  return { page: 'not-found', path };
}

const enc = encodeURIComponent;
export const modelPath = (namespace: string, model: string) => `/models/${enc(namespace)}/${enc(model)}`;
export const versionPath = (namespace: string, model: string, number: number) => `${modelPath(namespace, model)}/versions/${number}`;
export const experimentPath = (namespace: string, experiment: string) => `/experiments/${enc(namespace)}/${enc(experiment)}`;
export const runPath = (namespace: string, experiment: string, number: number) => `${experimentPath(namespace, experiment)}/runs/${number}`;
export const comparePath = (namespace: string, experiment: string, numbers: number[]) => `${experimentPath(namespace, experiment)}/compare/${numbers.join(',')}`;

/** Goes to a path in the app without a page load; the shell re-renders on `app-navigate`. */
export function navigate(path: string, { replace = false } = {}): void {
  if (path === location.pathname + location.search) return;
  history[replace ? 'replaceState' : 'pushState'](null, '', path);
  window.dispatchEvent(new Event('app-navigate'));
}

/** Turns clicks on same-origin links (in any shadow root) into `navigate`, leaving new-tab clicks and downloads alone. */
export function interceptLinks(root: EventTarget): void {
  root.addEventListener('click', (event) => {
    const e = event as MouseEvent;
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    const a = e.composedPath().find((n): n is HTMLAnchorElement => n instanceof HTMLAnchorElement);
    if (!a || a.target || a.hasAttribute('download') || a.origin !== location.origin || a.pathname.startsWith('/api/')) return;
    e.preventDefault();
    navigate(a.pathname + a.search);
  });
}
