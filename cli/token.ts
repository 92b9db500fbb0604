import { NAMESPACE_PATTERN } from '../shared/names.ts';
import { ROLES, originSchema, type Role, type TokenInfo } from '../shared/tokens.ts';
import { connect, type Connection } from './api.ts';
import { usage } from './errors.ts';
import type { CommandResult } from './result.ts';

export interface TokenCreateOptions {
  namespace: string;
  role: string;
  name?: string;
  origins?: string;
  expires?: string;
}

/** `hangar token create`: a new token, shown once. Needs an admin token. */
export async function tokenCreate(opts: TokenCreateOptions, conn: Connection): Promise<CommandResult> {
  if (opts.namespace !== '*' && !NAMESPACE_PATTERN.test(opts.namespace)) {
    throw usage(`--namespace "${opts.namespace}" is not a namespace.`, 'Namespaces are lower-case letters, digits and "-" (or * for all).');
  }
  if (!(ROLES as readonly string[]).includes(opts.role)) throw usage(`--role "${opts.role}" is not one of ${ROLES.join(', ')}.`);
  const origins = opts.origins?.split(',').map((o) => o.trim()).filter(Boolean);
  for (const o of origins ?? []) {
    if (!originSchema.safeParse(o).success) throw usage(`--origins: "${o}" is not an origin.`, 'Give origins like https://app.example.com, separated by commas.');
  }
  let expiresAt: string | undefined;
  if (opts.expires !== undefined) {
    const t = new Date(opts.expires).getTime();
    if (!Number.isFinite(t)) throw usage(`--expires "${opts.expires}" is not a date.`, 'Give a date like 2027-01-31 or 2027-01-31T12:00:00Z.');
    expiresAt = new Date(t).toISOString();
  }
  const name = opts.name ?? `hangar-cli ${opts.role}`;
  const api = connect(conn);
  const body = { namespace: opts.namespace, role: opts.role as Role, name, ...(origins ? { origins } : {}), ...(expiresAt ? { expiresAt } : {}) };
  const made = await api.json<TokenInfo & { token: string }>('POST', '/tokens', { json: body });
  return {
    json: made,
    text: [`created ${made.role} token "${made.name}" for namespace ${made.namespace} (id ${made.id}); it is shown only now:`, made.token],
    quiet: [made.token],
  };
}
