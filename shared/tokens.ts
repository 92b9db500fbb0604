import { z } from 'zod';
import { LIMITS } from './limits.ts';
import { namespaceSchema } from './names.ts';

export const ROLES = ['read', 'write', 'admin'] as const;
export type Role = (typeof ROLES)[number];
export const roleRank: Record<Role, number> = { read: 0, write: 1, admin: 2 };

/** Prefix of every token, so a leaked one is easy to recognise and scan for. */
export const TOKEN_PREFIX = 'hgr_';

/** A browser origin: scheme, host and optional port, nothing else. */
export const originSchema = z.string().regex(/^https?:\/\/[A-Za-z0-9.-]+(:\d{1,5})?$/, {
  message: 'must be an origin like "https://app.example.com" (no path, no trailing slash)',
});

/** Body of `POST /tokens`. */
export const createTokenSchema = z.object({
  namespace: z.union([namespaceSchema, z.literal('*')]),
  role: z.enum(ROLES),
  name: z.string().min(1).max(128),
  origins: z.array(originSchema).max(LIMITS.originsPerToken).optional(),
  /** Unix ms or an ISO 8601 date; must be in the future. */
  expiresAt: z
    .union([z.number().int().positive().max(LIMITS.maxTimestampMs), z.iso.datetime({ offset: true })])
    .refine((v) => Number.isFinite(new Date(v).getTime()), { message: 'must be a real date' })
    .optional(),
});
export type CreateToken = z.infer<typeof createTokenSchema>;

/** A token as listed; the secret itself is shown once, on creation, as `token`. */
export interface TokenInfo {
  id: string;
  namespace: string;
  role: Role;
  name: string;
  origins: string[] | null;
  expiresAt: string | null;
  createdAt: string;
}
