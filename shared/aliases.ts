import { z } from 'zod';

/**
 * Body of `PUT …/aliases/{alias}`: point the alias at version `version`. With `expected`, only
 * if it still points at that version number (`null`: only if it is not set), else 412.
 */
export const setAliasSchema = z.object({
  version: z.number().int().min(1),
  expected: z.number().int().min(1).nullable().optional(),
});
export type SetAlias = z.infer<typeof setAliasSchema>;

export interface Alias {
  alias: string;
  version: number;
  versionId: string;
  updatedAt: string;
}

/** One move of an alias; `version` is null when the alias was deleted. */
export interface AliasHistoryEntry {
  alias: string;
  version: number | null;
  previousVersion: number | null;
  at: string;
}
