import type { Role } from '../shared/tokens.ts';

/** Who is calling: resolved once per request by the auth middleware. */
export interface Caller {
  /** The token's id, or null for the admin token from `HANGAR_ADMIN_TOKEN`. */
  tokenId: string | null;
  /** The token's name (the admin token's is ADMIN_TOKEN_NAME), recorded in the events. */
  tokenName: string;
  /** The namespace the token may see, or `*` for all. */
  namespace: string;
  role: Role;
  /** Browser origins the token may be used from; null for any. */
  origins: string[] | null;
  /** When the token expires (ms since the epoch), or null for never. */
  expiresAt: number | null;
}

/** Hono's environment for the root app and every sub-app. */
export interface AppEnv {
  Bindings: Env;
  Variables: { caller: Caller };
}
