import { ErrorCode, HangarError } from '../../shared/errors.ts';
import { uuidv7 } from '../../shared/ids.ts';
import { TOKEN_PREFIX, type CreateToken, type TokenInfo } from '../../shared/tokens.ts';
import { tokenDigest } from '../auth.ts';
import { ensureNamespace } from '../db/change-log.ts';
import { insertToken, revokeToken, tokenInfo, type TokenRow } from '../db/tokens.ts';

/** 32 random bytes, base64url, behind the `hgr_` prefix. */
function newSecret(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  const b64 = btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  return `${TOKEN_PREFIX}${b64}`;
}

/** Creates a token; the secret is returned this once and only its digest is kept. */
export async function createToken(db: D1Database, input: CreateToken): Promise<TokenInfo & { token: string }> {
  const expiresAt = input.expiresAt === undefined ? null : new Date(input.expiresAt).getTime();
  if (expiresAt !== null && expiresAt <= Date.now()) {
    throw new HangarError(ErrorCode.InvalidArgument, 'Invalid request body: expiresAt must be in the future.', {
      issues: [{ path: 'expiresAt', message: 'must be in the future' }],
    });
  }
  const secret = newSecret();
  const row: TokenRow = {
    id: uuidv7(),
    namespace: input.namespace,
    role: input.role,
    name: input.name,
    digest: await tokenDigest(secret),
    origins: input.origins ? [...new Set(input.origins)] : null,
    expiresAt,
    createdAt: Date.now(),
    revokedAt: null,
  };
  const statements = [insertToken(db, row)];
  if (row.namespace !== '*') statements.push(ensureNamespace(db, row.namespace));
  await db.batch(statements);
  return { ...tokenInfo(row), token: secret };
}

export async function deleteToken(db: D1Database, id: string): Promise<void> {
  await revokeToken(db, id).run();
}
