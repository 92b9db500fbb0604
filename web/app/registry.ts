import type { Hangar } from '../client/index.ts';

let opened: Promise<Hangar> | undefined;

/**
 * The app's one registry, opened on first use. The client library (Dexie, zod) is imported
 * here, lazily, so the shell paints before it has loaded.
 */
export function registry(): Promise<Hangar> {
  opened ??= import('../client/index.ts').then((m) => m.openRegistry({ name: 'hangar' }));
  return opened;
}
