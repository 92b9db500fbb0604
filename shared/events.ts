import { z } from 'zod';
import { LIMITS } from './limits.ts';

/** What a change-log row is about (the worker's `Entity`). */
export const EVENT_ENTITIES = ['namespace', 'model', 'version', 'metadata', 'metrics', 'alias', 'artifact', 'checkpoint', 'param'] as const;
export type EventEntity = (typeof EVENT_ENTITIES)[number];

/** Query of `GET /namespaces/{ns}/events`. */
export const eventsQuerySchema = z.object({
  /** Only events after this change-log position, oldest first (to follow the log); without it, newest first. */
  after: z.coerce.number().int().min(0).optional(),
  pageSize: z.coerce.number().int().min(1).max(LIMITS.pageSizeMax).optional(),
  pageToken: z.string().max(1024).optional(),
  /** Comma-separated entities to keep, e.g. `model,version,alias` (default: all). */
  entity: z
    .string()
    .max(200)
    .refine((s) => s.split(',').every((e) => (EVENT_ENTITIES as readonly string[]).includes(e)), {
      message: `must be a comma-separated list of ${EVENT_ENTITIES.join(', ')}`,
    })
    .optional(),
});
export type EventsQuery = z.infer<typeof eventsQuerySchema>;

/** One entry of the namespace's events: who (token id and name) did what, when. */
export interface HangarEvent {
  /** Its position in the namespace's change log. */
  seq: number;
  at: string;
  /** `model.created`, `alias.moved`, `artifact.uploaded`… (see `eventType`). */
  type: string;
  entity: EventEntity;
  entityId: string;
  op: string;
  /** The token that made the change; null for changes made before tokens were recorded. */
  token: { id: string | null; name: string } | null;
  /** The model the change concerns, when it still exists. */
  model: { id: string; name: string } | null;
  /** The change's data (a metrics log is summarised as its point count and keys). */
  data: Record<string, unknown>;
}

/** The event type of a change-log row: the past tense of what happened to what. */
export function eventType(entity: string, op: string, data: Record<string, unknown>): string {
  if (entity === 'version' && op === 'status') return `version.${String(data.status)}`;
  if (entity === 'alias') return op === 'delete' ? 'alias.deleted' : 'alias.moved';
  if (entity === 'artifact' && op === 'create') return 'artifact.uploaded';
  if (entity === 'metrics' && op === 'log') return 'metrics.logged';
  if (entity === 'checkpoint') return op === 'save' ? 'checkpoint.saved' : 'checkpoint.defaulted';
  const past: Record<string, string> = { create: 'created', update: 'updated', delete: 'deleted', restore: 'restored', purge: 'purged', set: 'set' };
  return `${entity}.${past[op] ?? op}`;
}
