import { z } from 'zod';
import { LIMITS } from './limits.ts';
import { metadataMapSchema, type Metadata } from './metadata.ts';
import { nameSchema, textSchema as text } from './names.ts';


/**
 * What a model is (DESIGN §1): a registered `model`, or an MLflow-style `experiment` whose
 * versions are its runs. Set at create (default `model`) and never changed.
 */
export const MODEL_KINDS = ['model', 'experiment'] as const;
export type ModelKind = (typeof MODEL_KINDS)[number];
export const modelKindSchema = z.enum(MODEL_KINDS);

/** Body of `POST /namespaces/{ns}/models`. */
export const createModelSchema = z.object({
  name: nameSchema,
  /** `model` when absent; immutable once the model exists (a create of an existing model keeps its kind). */
  kind: modelKindSchema.optional(),
  owner: text(256).optional(),
  task: text(128).optional(),
  description: text(LIMITS.descriptionLength).optional(),
  metadata: metadataMapSchema.optional(),
});
export type CreateModel = z.infer<typeof createModelSchema>;

/** Body of `PATCH /namespaces/{ns}/models/{model}`; `null` clears a field. */
export const updateModelSchema = z.object({
  owner: text(256).nullable().optional(),
  task: text(128).nullable().optional(),
  description: text(LIMITS.descriptionLength).nullable().optional(),
  metadata: metadataMapSchema.optional(),
});
export type UpdateModel = z.infer<typeof updateModelSchema>;

/** The fields of a model that last-writer-wins applies to, one clock each. */
export const MODEL_FIELDS = ['owner', 'task', 'description'] as const;

/** A model as the API returns it. */
export interface Model {
  id: string;
  namespace: string;
  name: string;
  /** `model` or `experiment`, fixed at create. */
  kind: ModelKind;
  owner: string | null;
  task: string | null;
  description: string | null;
  metadata: Metadata;
  /** alias → version number */
  aliases: Record<string, number>;
  createdAt: string;
  updatedAt: string;
}

/**
 * Fields a model filter may name besides `tags.*` and `metrics.*`. A model listing whose filter
 * does not name `kind` lists registered models only (`kind = 'model'`): experiments are listed
 * apart (DESIGN §1); `kind = 'experiment'` lists them, `kind IN ('model', 'experiment')` both.
 */
export const MODEL_FILTER_FIELDS = ['name', 'kind', 'owner', 'task', 'description', 'created_at', 'updated_at'] as const;
/** Columns a model listing may be ordered by. */
export const MODEL_ORDER_FIELDS = ['name', 'created_at', 'updated_at'] as const;
