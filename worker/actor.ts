import { AsyncLocalStorage } from 'node:async_hooks';

/** The token a write is made by, recorded on its change-log rows (DESIGN §5). */
export interface Actor {
  /** The token's id, or null for the admin token from `HANGAR_ADMIN_TOKEN`. */
  id: string | null;
  name: string;
}

/** The name the admin token from `HANGAR_ADMIN_TOKEN` goes by in the events. */
export const ADMIN_TOKEN_NAME = 'admin (HANGAR_ADMIN_TOKEN)';

const store = new AsyncLocalStorage<Actor>();

/**
 * Runs a request's handlers as the token that sent it. Every change-log row written inside
 * takes its id and name from here, so no domain function needs it passed along.
 */
export const runAs = <T>(actor: Actor, fn: () => T): T => store.run(actor, fn);

/** The token of the request being served; none outside a request (migrations, tests of parts). */
export function currentActor(): { id: string | null; name: string | null } {
  const a = store.getStore();
  return { id: a?.id ?? null, name: a?.name ?? null };
}
