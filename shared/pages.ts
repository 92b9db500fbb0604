import { z } from 'zod';
import { LIMITS } from './limits.ts';

/** Query of every listing: `?filter=&orderBy=&pageSize=&pageToken=`. */
export const listQuerySchema = z.object({
  filter: z.string().max(LIMITS.filterLength).optional(),
  /** `field [ASC|DESC]`, e.g. `created_at DESC`. */
  orderBy: z.string().max(64).optional(),
  pageSize: z.coerce.number().int().min(1).max(LIMITS.pageSizeMax).optional(),
  pageToken: z.string().max(1024).optional(),
});
export type ListQuery = z.infer<typeof listQuerySchema>;

/** A page of a listing; `nextPageToken` is absent on the last page. */
export interface Page<T> {
  items: T[];
  nextPageToken?: string;
}
