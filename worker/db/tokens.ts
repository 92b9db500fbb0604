import type { Role, TokenInfo } from '../../shared/tokens.ts';
import { iso } from '../http.ts';

export interface TokenRow {
  id: string;
  namespace: string;
  role: Role;
  name: string;
  digest: string;
  origins: string[] | null;
  expiresAt: number | null;
  createdAt: number;
  revokedAt: number | null;
}

interface RawTokenRow {
  id: string;
  namespace: string;
  role: Role;
  name: string;
  digest: string;
  origins: string | null;
  expires_at: number | null;
  created_at: number;
  revoked_at: number | null;
}

export const rowToToken = (r: RawTokenRow): TokenRow => ({
  id: r.id,
  namespace: r.namespace,
  role: r.role,
  name: r.name,
  digest: r.digest,
  origins: r.origins === null ? null : (JSON.parse(r.origins) as string[]),
  expiresAt: r.expires_at,
  createdAt: r.created_at,
  revokedAt: r.revoked_at,
});

export const tokenInfo = (t: TokenRow): TokenInfo => ({
  id: t.id,
  namespace: t.namespace,
  role: t.role,
  name: t.name,
  origins: t.origins,
  expiresAt: t.expiresAt === null ? null : iso(t.expiresAt),
  createdAt: iso(t.createdAt),
});

export async function findTokenByDigest(db: D1Database, digest: string): Promise<TokenRow | undefined> {
  const row = await db.prepare('SELECT * FROM tokens WHERE digest = ?').bind(digest).first<RawTokenRow>();
  return row ? rowToToken(row) : undefined;
}

export async function findToken(db: D1Database, id: string): Promise<TokenRow | undefined> {
  const row = await db.prepare('SELECT * FROM tokens WHERE id = ? AND revoked_at IS NULL').bind(id).first<RawTokenRow>();
  return row ? rowToToken(row) : undefined;
}

/** Live tokens, of one namespace or (for `undefined`) of all. */
export async function listTokens(db: D1Database, namespace: string | undefined): Promise<TokenRow[]> {
  const stmt =
    namespace === undefined
      ? db.prepare('SELECT * FROM tokens WHERE revoked_at IS NULL ORDER BY created_at, id')
      : db.prepare('SELECT * FROM tokens WHERE revoked_at IS NULL AND namespace = ? ORDER BY created_at, id').bind(namespace);
  const { results } = await stmt.all<RawTokenRow>();
  return results.map(rowToToken);
}

export function insertToken(db: D1Database, t: TokenRow): D1PreparedStatement {
  return db
    .prepare(
      'INSERT INTO tokens (id, namespace, role, name, digest, origins, expires_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    )
    .bind(t.id, t.namespace, t.role, t.name, t.digest, t.origins ? JSON.stringify(t.origins) : null, t.expiresAt, t.createdAt);
}

export function revokeToken(db: D1Database, id: string): D1PreparedStatement {
  return db.prepare('UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL').bind(Date.now(), id);
}
