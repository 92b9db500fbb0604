import { registerArtifactSchema } from '../../../shared/artifacts.ts';
import { utf8Length } from '../../../shared/encoding.ts';
import { ErrorCode, HangarError, type ErrorEnvelope } from '../../../shared/errors.ts';
import { DEFAULT_HANDLE } from '../../../shared/checkpoints.ts';
import { modelId } from '../../../shared/ids.ts';
import { LIMITS } from '../../../shared/limits.ts';
import { mutationArgs, type MutationArgs, type MutationName, type MutationResult, type WireMutation } from '../../../shared/sync.ts';
import { parseWith } from '../../../shared/validate.ts';
import { checkClock } from '../../clock.ts';
import { getAlias, moveAlias } from '../../db/aliases.ts';
import { artifactChange, artifactJson, insertArtifactRows, type ArtifactRow } from '../../db/artifacts.ts';
import { settleVersionsStatus } from '../../db/blobs.ts';
import { changeJson, ensureNamespace, insertChanges, type ChangeRow } from '../../db/change-log.ts';
import { insertCheckpoint, moveDefault } from '../../db/checkpoints.ts';
import { logRef, MetricWrites, newPoints, probesOf, SEGMENTS_PER_STATEMENT, segmentRows, type StoredPoint } from '../../db/metrics.ts';
import type { Parent } from '../../parent.ts';
import { checkRegisterPath, checkSizes, existingOrConflict, newArtifactRow, uploadedDigests } from '../artifacts.ts';
import { checkBlobRoomFor, countStoredPoints } from '../../db/usage.ts';
import { checkpointFileRows } from '../checkpoints.ts';
import { metadataDeleteWrites, metadataWrites } from '../metadata.ts';
import { deleteClock, modelCreateParts, modelUpdateParts } from '../models.ts';
import { versionCreateParts } from '../versions.ts';
import { isSeqTakenError, SeqTaken, seqRecord, type QueryBudget } from './budget.ts';
import { notFound, type RowCache } from './cache.ts';
import { aliasConflict, APPLIED, definedOnly, deleted, type Outcome } from './outcomes.ts';
import type { Pusher } from './push.ts';

/**
 * Runs (DESIGN §6, production limits): consecutive mutations of one push applied in ONE batch,
 * with ONE seq record for the run's seqs under the same compare-and-set as a single mutation's
 * (budget.ts `seqRecord`, first in the batch), so the run commits whole or not at all and no
 * seq of it is applied twice. Each mutation is planned first, from rows read before the run
 * (cache.ts `prefetch`) and kept up to date with what the run plans; it still gets its own
 * answer: one that is rejected (bad args, a clock out of bounds, not found) or meets a conflict
 * writes nothing, and its answer is stored in the run's batch.
 *
 * Statements are shared where they commute: the change-log rows of the run go in as few
 * statements as their bytes allow, in mutation order (a write whose change row depends on the
 * write itself, such as a metadata set that may lose by clock, keeps its own statement, and
 * the rows before it are written first); artifact rows go in one statement; the metric points
 * of the run's `metrics.log` mutations are gathered per parent and key into shared segments
 * (a push of many small logs writes few segments), written with their summaries and one
 * change-log row per parent naming them (metric points are a union by id, so where their row
 * falls among the run's rows changes nothing); the status of every version whose artifacts changed is settled once, at the end.
 *
 * What a run does not plan is applied on its own (push.ts `applyOne`), after the run before it
 * commits: deletes, version updates, a labelled version (its label may be taken), a revived
 * model, a checkpoint saved again. A batch refused by a constraint (another writer got there
 * between the reads and the batch) changed nothing; its mutations are then applied one at a
 * time, which answers each race as it does on its own.
 */

/** Plan this mutation on its own, after the run so far commits. */
export class Alone extends Error {}
/** Commit the run so far, then plan this mutation again (it reads what the run wrote). */
export class FlushFirst extends Error {}

/** Bytes of one bound JSON value of a run's shared statements (D1 caps a value at `LIMITS.d1ValueBytes`). */
const VALUE_BYTES = LIMITS.d1ValueBytes - 1024;

/** JSON rows bound as one array value, flushed into a statement whenever the next row would pass the cap. */
class JsonRows {
  private rows: string[] = [];
  private bytes = 2;
  constructor(private readonly statement: (json: string) => D1PreparedStatement) {}
  get empty() {
    return this.rows.length === 0;
  }
  add(row: string, out: D1PreparedStatement[]): void {
    const size = utf8Length(row) + 1;
    if (this.rows.length && this.bytes + size > VALUE_BYTES) this.flush(out);
    this.rows.push(row);
    this.bytes += size;
  }
  flush(out: D1PreparedStatement[]): void {
    if (!this.rows.length) return;
    out.push(this.statement(`[${this.rows.join(',')}]`));
    this.rows = [];
    this.bytes = 2;
  }
}

/** What planning one mutation came to. */
interface Step {
  outcome: Outcome | { status: 'rejected'; error: ErrorEnvelope['error'] };
  /** Statements in place, in order. */
  writes?: D1PreparedStatement[];
  /** `writes` hold change-log rows: the run's pending change rows are written before them. */
  logsInPlace?: boolean;
  /** Needs the namespace's row (written once per run). */
  ensureNamespace?: boolean;
  changes?: ChangeRow[];
  /** New metric points of a parent, gathered into the run's segments. */
  metrics?: { parentId: string; points: StoredPoint[] };
  artifacts?: ArtifactRow[];
  /** A version whose served status may change. */
  settle?: string;
  /** An alias move: index in `writes` of the conditional write whose `changes` tells whether it happened. */
  alias?: { at: number; modelId: string; alias: string; versionId: string; expectedVersionId: string | null };
  /** Cache updates, done once the step is in the run. */
  accepted?: () => void;
}

const noWrites = (outcome: Outcome): Step => ({ outcome });

interface Planned {
  m: WireMutation;
  outcome: Step['outcome'];
  /** Index in the batch of an alias move's conditional write. */
  aliasAt?: number;
  alias?: Step['alias'];
}

/** One run being built: the statements so far and what they answer. */
export class Run {
  private readonly statements: D1PreparedStatement[] = [];
  private readonly changes: JsonRows;
  private readonly segments: MetricWrites;
  /** The run's new metric points by parent, and the clock of the last mutation that logged some. */
  private readonly metrics = new Map<string, { points: StoredPoint[]; hlc: string }>();
  private readonly artifacts: JsonRows;
  private readonly answers: JsonRows;
  private readonly settle: Record<string, string> = {};
  private ensured = false;
  readonly planned: Planned[] = [];
  /** Aliases the run moves (`model\0alias`), and versions it creates. */
  readonly aliases = new Set<string>();
  readonly versions = new Set<string>();

  constructor(
    private readonly db: D1Database,
    private readonly who: Pusher,
  ) {
    const ns = who.namespace;
    this.changes = new JsonRows((json) => insertChanges(db, ns, json));
    this.segments = new MetricWrites(db, ns);
    this.artifacts = new JsonRows((json) => insertArtifactRows(db, json));
    this.answers = new JsonRows((json) =>
      db
        .prepare('INSERT OR REPLACE INTO sync_results (namespace, client_id, seq, result) SELECT ?1, ?2, r.value ->> 0, r.value ->> 1 FROM json_each(?3) r')
        .bind(ns, who.clientId, json),
    );
  }

  get empty() {
    return this.planned.length === 0;
  }

  /** Queries the run's batch takes as it stands (seq record, shared statements, status), and what its alias moves may read and store after it. */
  need(): number {
    const pending = [this.changes, this.artifacts, this.answers].filter((r) => !r.empty).length;
    const aliases = this.planned.filter((p) => p.alias).length;
    return 1 + this.statements.length + pending + this.metricsNeed() + (Object.keys(this.settle).length ? 2 : 0) + 2 * aliases;
  }

  /**
   * Statements the gathered metric points take: segments of at most 1,000 points per parent and
   * key, their summaries, the namespace's point count, and a change row for the log.
   */
  private metricsNeed(): number {
    if (!this.metrics.size) return 0;
    let rows = 0;
    for (const { points } of this.metrics.values()) {
      const perKey = new Map<string, number>();
      for (const p of points) perKey.set(p.key, (perKey.get(p.key) ?? 0) + 1);
      for (const n of perKey.values()) rows += Math.ceil(n / LIMITS.metricSegmentPoints);
    }
    // One more for the change rows (a statement of its own, or the flush they may cause), one for the usage count.
    return 2 * Math.ceil(rows / SEGMENTS_PER_STATEMENT) + 2;
  }

  /** An upper bound of what adding `step` adds to `need()`. */
  cost(step: Step): number {
    const keys = step.metrics ? new Set(step.metrics.points.map((p) => p.key)).size : 0;
    // Points take their segments and summaries, a change row, and the namespace's point count.
    const lists = (step.changes?.length || keys ? 2 : 0) + MetricWrites.cost(keys) + (keys ? 1 : 0) + (step.artifacts?.length ? 2 : 0);
    const answer = step.outcome.status === 'applied' ? 0 : 2;
    return (step.writes?.length ?? 0) + (step.ensureNamespace ? 1 : 0) + lists + answer + (step.settle ? 2 : 0) + (step.alias ? 3 : 0) + (step.logsInPlace ? 1 : 0);
  }

  add(m: WireMutation, step: Step): void {
    const out = this.statements;
    if (step.ensureNamespace && !this.ensured) {
      out.push(ensureNamespace(this.db, this.who.namespace));
      this.ensured = true;
    }
    if (step.logsInPlace) this.changes.flush(out);
    const at = out.length;
    out.push(...(step.writes ?? []));
    for (const c of step.changes ?? []) this.changes.add(changeJson(c), out);
    if (step.metrics) {
      const gathered = this.metrics.get(step.metrics.parentId);
      if (gathered) {
        gathered.points.push(...step.metrics.points);
        gathered.hlc = m.hlc;
      } else this.metrics.set(step.metrics.parentId, { points: [...step.metrics.points], hlc: m.hlc });
    }
    for (const a of step.artifacts ?? []) this.artifacts.add(artifactJson(a), out);
    if (step.settle) this.settle[step.settle] = m.hlc;
    if (step.outcome.status !== 'applied') this.answers.add(JSON.stringify([m.seq, JSON.stringify({ seq: m.seq, ...step.outcome })]), out);
    // The batch starts with the seq record: a statement's index there is one more.
    this.planned.push({ m, outcome: step.outcome, ...(step.alias ? { alias: step.alias, aliasAt: 1 + at + step.alias.at } : {}) });
    step.accepted?.();
  }

  /**
   * Commits the run: its seq record first, then its statements, shared rows and status. Answers
   * its mutations, or `undefined` when a constraint refused the batch (nothing was written).
   */
  async commit(budget: QueryBudget, cache: RowCache): Promise<MutationResult[] | undefined> {
    const out = this.statements;
    for (const [parentId, { points, hlc }] of this.metrics) {
      const rows = segmentRows(points);
      this.segments.add(parentId, rows, out);
      // The same change-log row as logMetrics writes: entity `metrics`, op `log`, the segments.
      this.changes.add(changeJson({ entity: 'metrics', entityId: parentId, op: 'log', data: logRef(rows), hlc }), out);
    }
    this.segments.flush(out);
    // The run's new points count against the namespace's quota in its own batch (db/usage.ts):
    // past it, the batch is refused whole and its mutations are applied one at a time.
    let stored = 0;
    for (const { points } of this.metrics.values()) stored += points.length;
    if (stored) out.push(countStoredPoints(this.db, this.who.namespace, stored));
    this.artifacts.flush(out);
    this.changes.flush(out);
    this.answers.flush(out);
    if (Object.keys(this.settle).length) out.push(...settleVersionsStatus(this.db, this.settle));
    const first = this.planned[0]!.m.seq;
    const last = this.planned.at(-1)!.m.seq;
    const all = [seqRecord(this.db, this.who, first, last), ...out];
    const aliases = this.planned.filter((p) => p.alias);
    budget.take(all.length, 2 * aliases.length);
    let results: D1Result[];
    try {
      results = await this.db.batch(all);
    } catch (err) {
      if (isSeqTakenError(err)) throw new SeqTaken(first);
      if (err instanceof Error && /constraint failed/i.test(err.message)) return undefined;
      throw err;
    }
    for (const id of this.versions) cache.forget(id);
    const answers: MutationResult[] = [];
    for (const p of this.planned) {
      let outcome = p.outcome;
      if (p.alias) {
        const a = p.alias;
        cache.forgetAlias(a.modelId, a.alias);
        if (!results[p.aliasAt!]?.meta.changes) {
          // Another writer moved the alias between the read and the batch: the conditional
          // write did nothing. The seq is ours already, so storing the answer now is safe.
          budget.spend(2);
          const current = await getAlias(this.db, a.modelId, a.alias);
          outcome = current?.versionId === a.versionId && a.expectedVersionId === a.versionId ? APPLIED : aliasConflict(a.alias, current);
          if (outcome.status !== 'applied') {
            await this.db
              .prepare('INSERT OR REPLACE INTO sync_results (namespace, client_id, seq, result) VALUES (?, ?, ?, ?)')
              .bind(this.who.namespace, this.who.clientId, p.m.seq, JSON.stringify({ seq: p.m.seq, ...outcome }))
              .run();
          }
        }
      }
      answers.push({ seq: p.m.seq, ...outcome } as MutationResult);
    }
    return answers;
  }
}

/** What planners work with: `db` prepares their statements (their reads go through `cache`, counted). */
export interface RunCtx {
  db: D1Database;
  cache: RowCache;
  run: Run;
  namespace: string;
  hlc: string;
  tokenId: string | null;
}

async function parentOf(ctx: RunCtx, id: string): Promise<Parent | Outcome> {
  const parent = await ctx.cache.parent(id, ctx.hlc);
  return parent === 'deleted' ? deleted('The model or version') : parent;
}
const isOutcome = (x: Parent | Outcome): x is Outcome => 'status' in x;

/** Applied one at a time: deletes, restores, version updates, and params (which read what is set, to refuse a change). */
const aloneKinds: ReadonlySet<MutationName> = new Set(['model.delete', 'version.update', 'version.delete', 'alias.delete', 'model.restore', 'version.restore', 'param.set']);

/**
 * Plans one mutation of a run, or throws: `Alone`, `FlushFirst`, `OutOfBudget` (a read past
 * the budget), or a `HangarError` that is the mutation's rejection.
 */
export async function planStep(ctx: RunCtx, m: WireMutation): Promise<Step> {
  if (aloneKinds.has(m.name)) throw new Alone();
  checkClock(m.hlc);
  const args = parseWith(mutationArgs[m.name], m.args, `${m.name} arguments`);
  return (planners[m.name] as (ctx: RunCtx, args: unknown) => Promise<Step>)(ctx, args);
}

type Planners = { [N in MutationName]?: (ctx: RunCtx, args: MutationArgs<N>) => Promise<Step> };

const planners: Planners = {
  async 'model.create'(ctx, { id, name, ...fields }) {
    if ((await modelId(ctx.namespace, name)) !== id) {
      throw new HangarError(ErrorCode.InvalidArgument, `Model id ${id} is not the id of "${name}" in namespace "${ctx.namespace}".`, { id, name });
    }
    const given = definedOnly(fields);
    const existing = await ctx.cache.model(id);
    if (existing && existing.deleted_at === null) {
      // Two devices that create the same model make the same model: merged as an update.
      const parts = modelUpdateParts(ctx.db, existing, given, ctx.hlc);
      return { outcome: APPLIED, writes: parts ? [parts.write] : [], changes: parts ? [parts.change] : [] };
    }
    if (existing && ctx.hlc <= deleteClock(existing)) return noWrites(deleted(`Model "${name}"`));
    if (existing) throw new Alone();
    const parts = modelCreateParts(ctx.db, ctx.namespace, id, { name, ...given }, ctx.hlc, undefined);
    const at = Date.now();
    const row = { owner: null, task: null, description: null, kind: 'model' as const, ...given, id, namespace: ctx.namespace, name, clocks: '{}', created_at: at, updated_at: at, deleted_at: null };
    return { outcome: APPLIED, ensureNamespace: true, writes: parts.writes, changes: [parts.change], accepted: () => ctx.cache.remember({ kind: 'model', row }) };
  },
  async 'model.update'(ctx, { id, fields }) {
    const model = await ctx.cache.model(id);
    if (!model) throw notFound(ctx.namespace, id);
    if (model.deleted_at !== null) return noWrites(deleted(`Model "${model.name}"`));
    const parts = modelUpdateParts(ctx.db, model, fields, ctx.hlc);
    return { outcome: APPLIED, writes: parts ? [parts.write] : [], changes: parts ? [parts.change] : [] };
  },
  async 'version.create'(ctx, { id, modelId: parentModel, status, ...fields }) {
    const model = await ctx.cache.model(parentModel);
    if (!model) throw notFound(ctx.namespace, parentModel);
    if (model.deleted_at !== null) return noWrites(deleted(`Model "${model.name}"`));
    // A label may be taken by another version: on its own, the create answers that conflict.
    // A lineage is checked on its own too (its source may be a version the run creates).
    if (fields.version || fields.sourceVersionId) throw new Alone();
    const existing = await ctx.cache.version(id);
    if (existing) {
      // Created before (this create again), deleted (a create does not bring it back), or another's id.
      if (existing.model_id === model.id && existing.deleted_at === null) return noWrites(APPLIED);
      if (existing.model_id === model.id) return noWrites(deleted(`Version ${existing.number} of "${model.name}"`));
      throw new Alone();
    }
    const { insert, change, row } = versionCreateParts(ctx.db, model, { id, ...definedOnly(fields), ...(status ? { status } : {}) }, ctx.hlc);
    return {
      outcome: APPLIED,
      writes: [insert],
      changes: [change],
      accepted: () => {
        ctx.cache.remember({ kind: 'version', row });
        ctx.run.versions.add(id);
      },
    };
  },
  async 'metadata.set'(ctx, { parentId, key, value }) {
    const parent = await parentOf(ctx, parentId);
    if (isOutcome(parent)) return noWrites(parent);
    return { outcome: APPLIED, writes: metadataWrites(ctx.db, parent.namespace, parent.id, { [key]: value }, ctx.hlc), logsInPlace: true };
  },
  async 'metadata.delete'(ctx, { parentId, key }) {
    const parent = await parentOf(ctx, parentId);
    if (isOutcome(parent)) return noWrites(parent);
    return { outcome: APPLIED, writes: metadataDeleteWrites(ctx.db, parent, key, ctx.hlc), logsInPlace: true };
  },
  async 'metrics.log'(ctx, { parentId, points }) {
    const parent = await parentOf(ctx, parentId);
    if (isOutcome(parent)) return noWrites(parent);
    if (!points.length) return noWrites(APPLIED);
    const now = Date.now();
    const stored = points.map((p) => ({ id: p.id, key: p.key, value: p.value, step: p.step ?? 0, wallclock: p.wallclock ?? now }));
    // Points stored before (a re-seed, an id repeated) are skipped, as logMetrics skips them.
    await ctx.cache.probe(probesOf(parent.id, stored));
    const fresh = newPoints(parent.id, stored, (p, k) => ctx.cache.knownIds(p, k));
    if (!fresh.length) return noWrites(APPLIED);
    return { outcome: APPLIED, metrics: { parentId: parent.id, points: fresh }, accepted: () => ctx.cache.notePoints(parent.id, fresh) };
  },
  async 'alias.set'(ctx, { modelId: id, alias, versionId, expectedVersionId }) {
    const model = await ctx.cache.model(id);
    if (!model) throw notFound(ctx.namespace, id);
    if (model.deleted_at !== null) return noWrites(deleted(`Model "${model.name}"`));
    const target = await ctx.cache.version(versionId);
    if (!target || target.model_id !== model.id) throw notFound(ctx.namespace, versionId);
    if (target.deleted_at !== null) return noWrites(deleted(`Version ${target.number} of "${model.name}"`));
    // Where the run moved this alias is known only once its batch commits.
    if (ctx.run.aliases.has(`${model.id}\0${alias}`)) throw new FlushFirst();
    const current = await ctx.cache.alias(model.id, alias);
    if ((current?.versionId ?? null) !== expectedVersionId) return noWrites(aliasConflict(alias, current));
    if (current?.versionId === target.id) return noWrites(APPLIED);
    // The move is a compare-and-set in SQL (db/aliases.ts `moveAlias`); whether it happened is
    // read from the batch's own result. The version's number is read by SQL as well (the run
    // may have created the version).
    const writes = moveAlias(ctx.db, { namespace: model.namespace, modelId: model.id, alias, versionId: target.id, expectedVersionId, tokenId: ctx.tokenId, hlc: ctx.hlc, versionNumber: undefined });
    return {
      outcome: APPLIED,
      writes,
      logsInPlace: true,
      alias: { at: 1, modelId: model.id, alias, versionId: target.id, expectedVersionId },
      accepted: () => ctx.run.aliases.add(`${model.id}\0${alias}`),
    };
  },
  async 'artifact.register'(ctx, { parentId, id: _id, ...body }) {
    const parent = await parentOf(ctx, parentId);
    if (isOutcome(parent)) return noWrites(parent);
    const input = parseWith(registerArtifactSchema, definedOnly(body), 'artifact');
    checkRegisterPath(input.path);
    const row = newArtifactRow(parent, input);
    const existing = await ctx.cache.artifact(parent.id, row.path);
    if (existing) {
      try {
        existingOrConflict(existing, row);
        return noWrites(APPLIED);
      } catch (err) {
        if (err instanceof HangarError && err.code === ErrorCode.ArtifactConflict) {
          return noWrites({ status: 'conflict', kind: 'artifact', message: err.message, server: err.details?.existing ?? null });
        }
        throw err;
      }
    }
    const sizes = await ctx.cache.grantedSizes(uploadedDigests([row]));
    checkSizes([row], sizes);
    if (row.url === null && row.sha256 !== null) checkBlobRoomFor(ctx.namespace, await ctx.cache.blobRoom(), row.size, sizes.get(row.sha256) != null);
    return {
      outcome: APPLIED,
      artifacts: [row],
      changes: [{ entity: 'artifact', entityId: row.id, op: 'create', data: artifactChange(row, parent.kind), hlc: ctx.hlc }],
      ...(parent.version ? { settle: parent.version.id } : {}),
      accepted: () => ctx.cache.noteArtifact({ ...row, stored: row.url === null && row.sha256 !== null && sizes.get(row.sha256) === row.size ? 1 : 0 }),
    };
  },
  async 'checkpoint.save'(ctx, { versionId, handle, ...input }) {
    const parent = await parentOf(ctx, versionId);
    if (isOutcome(parent)) return noWrites(parent);
    if (!parent.version) throw notFound(ctx.namespace, versionId);
    const version = parent.version;
    const now = Date.now();
    const rows = checkpointFileRows(parent, handle, input, now);
    // Saved before (the same files again, or others: a conflict): on its own, with its files read.
    if (await ctx.cache.checkpoint(version.id, handle)) throw new Alone();
    const sizes = await ctx.cache.grantedSizes(uploadedDigests(rows));
    checkSizes(rows, sizes);
    const ns = parent.namespace;
    const entityId = (h: string) => `${version.id}/${h}`;
    const moves = input.setAsDefault !== false;
    const changes: ChangeRow[] = [
      { entity: 'checkpoint', entityId: entityId(handle), op: 'save', data: { versionId: version.id, handle }, hlc: ctx.hlc },
      ...rows.map((r): ChangeRow => ({ entity: 'artifact', entityId: r.id, op: 'create', data: artifactChange(r, 'version'), hlc: ctx.hlc })),
      ...(moves ? [{ entity: 'checkpoint', entityId: entityId(DEFAULT_HANDLE), op: 'default', data: { versionId: version.id, handle: DEFAULT_HANDLE, target: handle }, hlc: ctx.hlc } as ChangeRow] : []),
    ];
    return {
      outcome: APPLIED,
      writes: [
        insertCheckpoint(ctx.db, { version_id: version.id, handle, namespace: ns, target: null, created_at: now, updated_at: now }),
        ...(moves ? [moveDefault(ctx.db, ns, version.id, handle, now)] : []),
      ],
      artifacts: rows,
      changes,
      settle: version.id,
      accepted: () => {
        ctx.cache.noteCheckpoint(version.id, handle);
        for (const r of rows) ctx.cache.noteArtifact({ ...r, stored: r.sha256 !== null && sizes.get(r.sha256) === r.size ? 1 : 0 });
      },
    };
  },
};

/** The rejection answer of a mutation whose planning threw a `HangarError`. */
export const rejection = (err: HangarError): Step => ({ outcome: { status: 'rejected', error: err.toJSON().error } });

