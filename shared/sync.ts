import { z } from 'zod';
import { saveCheckpointSchema } from './checkpoints.ts';
import type { ErrorEnvelope } from './errors.ts';
import { isHlc } from './hlc.ts';
import { LIMITS } from './limits.ts';
import { metadataValueSchema } from './metadata.ts';
import { metricPointInputSchema } from './metrics.ts';
import { modelKindSchema, updateModelSchema } from './models.ts';
import { paramKeySchema, paramValueSchema } from './params.ts';
import { aliasSchema, keySchema, nameSchema } from './names.ts';
import { updateVersionSchema, VERSION_STATUSES } from './versions.ts';

/**
 * The sync protocol's version. A client sends it with every push and pull; a server answers
 * `protocol-unsupported` to a client outside [MIN_PROTOCOL_VERSION, PROTOCOL_VERSION].
 *
 * History (one line per change):
 * - 1: push of outbox mutations with `afterSeq`, pull of the change log after a cursor.
 * - 2: bounded clocks (`clock-skew`, `serverTime` in every answer), `metadata.delete` with
 *   tombstones, the version lifecycle (`status` on `version.create`/`version.update`, DESIGN §3a),
 *   creates that carry only the fields given, and pushes that stop early (`complete: false`)
 *   within production limits. A version-1 client is refused with `protocol-unsupported`.
 * - 3: the trash (DESIGN §3b): `model.restore` and `version.restore` mutations and changes; experiments
 *   and runs (DESIGN §1): `kind` on `model.create`, `sourceVersionId` (lineage) on `version.create`,
 *   the `param.set` mutation and `param` rows in the change log. A version-2 client is still served
 *   (it never sends these, and skips rows it does not know); a version-2 server refuses a version-3
 *   client, which would otherwise lose kinds, params and restores.
 *   Added within 3 (both ways compatible): a pull may carry `clientId` and `cursor` in the headers
 *   `PULL_CLIENT_HEADER` and `PULL_CURSOR_HEADER` instead of the query, so its URL never changes
 *   and a browser's CORS preflight is answered from its cache (it is keyed by the whole URL); a
 *   server from before answers `invalid-argument`, and the client pulls with the query from then on.
 *   `model` and `version` rows with op `purge` once the trash frees them (a device drops what it
 *   held of them); a client that does not know them skips them, as it skips any row it does not know.
 *   A live poke (shared/live.ts) may carry `from` and `changes`: the change-log rows it announces,
 *   as a pull page gives them, when they fit in `LIMITS.livePokeBytes`; a client whose cursor is
 *   within [`from`, `cursor`) applies them without pulling, any other pulls. A client from before
 *   reads only `cursor` and pulls; a client talking to a server from before gets no rows and pulls.
 */
export const PROTOCOL_VERSION = 3;
export const MIN_PROTOCOL_VERSION = 2;
/** The header that carries the client's protocol version on every sync request. */
export const PROTOCOL_HEADER = 'hangar-protocol';
/** A pull's `clientId` and `cursor` as headers, when the query has no `clientId` (see the history above). */
export const PULL_CLIENT_HEADER = 'hangar-client-id';
export const PULL_CURSOR_HEADER = 'hangar-cursor';

const id = z.uuid();
/** The fields a model or version mutation may carry; `null` clears one. */
const modelFields = updateModelSchema.omit({ metadata: true });
const versionFields = updateVersionSchema.omit({ metadata: true, status: true });
/** A version's status as its creator sets it (DESIGN §3a): created `pending`, then `ready` or `failed`. */
const status = z.enum(VERSION_STATUSES).optional();

/**
 * Every mutation a client may push: its name and the shape of its `args`. `artifact.register`
 * carries the body of `POST …/artifacts` beside its parent, checked against that schema when
 * applied.
 */
export const mutationArgs = {
  /** `kind` is the create's only: a create of a model that exists keeps the kind it has. */
  'model.create': modelFields.extend({ id, name: nameSchema, kind: modelKindSchema.optional() }),
  'model.update': z.object({ id, fields: modelFields }),
  'model.delete': z.object({ id }),
  /** `sourceVersionId` (lineage) is the create's only, never changed after. */
  'version.create': versionFields.extend({ id, modelId: id, status, sourceVersionId: id.optional() }),
  'version.update': z.object({ id, fields: versionFields, status: z.enum(['ready', 'failed']).optional() }),
  'version.delete': z.object({ id }),
  /** Out of the trash: a model with the versions its delete took, or one version of a live model (DESIGN §3b). */
  'model.restore': z.object({ id }),
  'version.restore': z.object({ id }),
  'metadata.set': z.object({ parentId: id, key: keySchema, value: metadataValueSchema }),
  'metadata.delete': z.object({ parentId: id, key: keySchema }),
  'metrics.log': z.object({ parentId: id, points: z.array(metricPointInputSchema.required({ id: true })).max(LIMITS.metricsPerRequest) }),
  'alias.set': z.object({ modelId: id, alias: aliasSchema, versionId: id, expectedVersionId: id.nullable() }),
  'alias.delete': z.object({ modelId: id, alias: aliasSchema, expectedVersionId: id.nullable() }),
  'artifact.register': z.looseObject({ parentId: id }),
  'checkpoint.save': saveCheckpointSchema.extend({ versionId: id, handle: nameSchema }),
  /**
   * Sets a version's param, once (shared/params.ts): the same value again is `applied`, another
   * value `rejected` with `param-changed` (its `details.value` is the server's value).
   */
  'param.set': z.object({ parentId: id, key: paramKeySchema, value: paramValueSchema }),
} as const;

export type MutationName = keyof typeof mutationArgs;
export type MutationArgs<N extends MutationName> = z.infer<(typeof mutationArgs)[N]>;
export const MUTATION_NAMES = Object.keys(mutationArgs) as MutationName[];

/** One outbox entry on the wire; `args` is checked against its name's schema when applied. */
export const wireMutationSchema = z.object({
  seq: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
  name: z.enum(MUTATION_NAMES as [MutationName, ...MutationName[]]),
  args: z.unknown(),
  hlc: z.string().refine(isHlc, { message: 'must be a hybrid logical clock' }),
});
export type WireMutation = z.infer<typeof wireMutationSchema>;

/** Body of `POST /namespaces/{ns}/sync/push`. */
export const pushRequestSchema = z
  .object({
    clientId: id,
    /** The last seq of this client the server has applied in this namespace, as the client knows it (0 at first). */
    afterSeq: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
    mutations: z.array(wireMutationSchema).min(1).max(LIMITS.mutationsPerPush),
  })
  .superRefine((body, ctx) => {
    let prev = body.afterSeq;
    body.mutations.forEach((m, i) => {
      if (m.seq <= prev) ctx.addIssue({ code: 'custom', path: ['mutations', i, 'seq'], message: `must be greater than ${prev}: seqs increase` });
      prev = m.seq;
    });
  });
export type PushRequest = z.infer<typeof pushRequestSchema>;

/** What a conflict is about; the kinds of DESIGN §3 that keep a losing write. */
export type ConflictKind = 'alias' | 'version-label' | 'artifact' | 'deleted';

/** The server's answer for one mutation. */
export type MutationResult =
  | { seq: number; status: 'applied' }
  | { seq: number; status: 'conflict'; kind: ConflictKind; message: string; server: unknown }
  | { seq: number; status: 'rejected'; error: ErrorEnvelope['error'] };

export interface PushResponse {
  /** One answer per mutation the server handled, in order: a prefix of the push when `complete` is false. */
  results: MutationResult[];
  /** The last seq of this client applied in this namespace, after this push. */
  lastMutationSeq: number;
  /** False when the server stopped early (production limits): send the mutations after the last answer again. */
  complete: boolean;
  /** The server's wall time (ms since the epoch) as it answered: clients correct their clocks by it. */
  serverTime: number;
}

/** Query of `GET /namespaces/{ns}/sync/pull`. */
export const pullQuerySchema = z.object({
  clientId: id,
  /** The `cursor` of the last page pulled; absent or `0` at first. */
  cursor: z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER).default(0),
  limit: z.coerce.number().int().min(1).max(LIMITS.pullPageMax).default(LIMITS.pullPageMax),
});

/** One row of the namespace's change log. */
export interface Change {
  seq: number;
  /** `param` rows (op `set`, data `{key, value}`, entityId the version's id) since protocol 3. */
  entity: 'namespace' | 'model' | 'version' | 'metadata' | 'metrics' | 'alias' | 'artifact' | 'checkpoint' | 'param';
  entityId: string;
  op: string;
  data: Record<string, unknown>;
  hlc: string;
}

export interface PullResponse {
  changes: Change[];
  /** Pass back as `cursor` for the next page. */
  cursor: number;
  /** True while more changes wait after `cursor`. */
  more: boolean;
  /** The last seq of this client applied in this namespace. */
  lastMutationSeq: number;
  /** The server's wall time (ms since the epoch) as it answered. */
  serverTime: number;
}
