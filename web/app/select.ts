import { modelPath, navigate, versionPath } from './router.ts';

/** `hangar-select` from a widget element: open the model or version the user picked. */
export function onSelect(event: Event): void {
  const { namespace, model, version } = (event as CustomEvent<{ namespace: string; model: string; version?: number }>).detail;
  navigate(version === undefined ? modelPath(namespace, model) : versionPath(namespace, model, version));
}
