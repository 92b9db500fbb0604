import { LIMITS } from '../../../shared/limits.ts';

/**
 * Production D1 limits for a push (DESIGN §6): an invocation may make at most
 * `LIMITS.d1QueriesPerInvocation` queries, each statement of a `batch()` counted. A push spends
 * at most this many on its mutations; the rest is headroom for what the request does besides
 * (auth reads the token, the push reads the client row and prunes answers, and a push cut short
 * by another push reads the answers it stored).
 */
export const PUSH_HEADROOM = 50;
export const PUSH_QUERY_BUDGET = LIMITS.d1QueriesPerInvocation - PUSH_HEADROOM;

/**
 * Statements every mutation must still be able to write after its reads: the seq record and a
 * stored answer. A read that would eat into them stops the push before the mutation instead.
 */
export const FINISH = 2;

/** The next query would pass the budget: the mutation is left, untouched, for the client's next push. */
export class OutOfBudget extends Error {
  constructor() {
    super('This push used its D1 query budget; the rest waits for the next push.');
  }
}

/** Another push of the same client applied this seq first: the batch that would apply it again was aborted whole. */
export class SeqTaken extends Error {
  constructor(readonly seq: number) {
    super(`Seq ${seq} was applied by another push of this client meanwhile.`);
  }
}

/** Counts the queries of one push against `limit`. */
export class QueryBudget {
  used = 0;
  constructor(readonly limit: number = PUSH_QUERY_BUDGET) {}

  /** Whether `n` more queries fit, keeping `keep` in hand. */
  fits(n: number, keep = 0): boolean {
    return this.used + n + keep <= this.limit;
  }

  /**
   * Spends `n` queries without a check: only for what a mutation does after its batch committed
   * (it must finish; `MutationDb` keeps room for it when committing).
   */
  spend(n: number): void {
    this.used += n;
  }

  /** Spends `n` queries, keeping `keep` more in hand, or throws `OutOfBudget` and spends nothing. */
  take(n: number, keep = 0): void {
    if (this.used + n + keep > this.limit) throw new OutOfBudget();
    this.used += n;
  }
}

/**
 * The compare-and-set that records seqs `first`..`last` of a client as applied, to go in the SAME
 * batch as their writes (DESIGN §6). The trick: an upsert whose update sets the NOT NULL column
 * `last_seq` to NULL when the stored `last_seq` is already at or past `first`. SQLite then fails
 * the statement ("NOT NULL constraint failed: sync_clients.last_seq") and D1 rolls back the
 * whole batch, writes included; so two pushes of one client that carry the same seqs at once
 * apply each mutation once, whichever commits first. A client's first push inserts the row;
 * two first pushes at once meet in the same ON CONFLICT branch.
 */
export function seqRecord(
  db: D1Database,
  c: { namespace: string; clientId: string; tokenId: string | null },
  first: number,
  last: number,
): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO sync_clients (namespace, client_id, token_id, last_seq, updated_at) VALUES (?1, ?2, ?3, ?5, ?6)
       ON CONFLICT (namespace, client_id) DO UPDATE SET
         last_seq = CASE WHEN sync_clients.last_seq < ?4 THEN excluded.last_seq ELSE NULL END,
         updated_at = excluded.updated_at`,
    )
    .bind(c.namespace, c.clientId, c.tokenId, first, last, Date.now());
}

/** True for the error of a batch whose `seqRecord` found its seq taken. */
export const isSeqTakenError = (err: unknown) => err instanceof Error && /NOT NULL constraint failed: sync_clients\.last_seq/i.test(err.message);

/** The real statement behind each counted one, for `batch()`. */
const innerOf = new WeakMap<object, D1PreparedStatement>();
const unwrap = (s: D1PreparedStatement) => innerOf.get(s) ?? s;

/**
 * What a mutation may still do after its batch committed: store its answer, and read back what
 * it wrote (createVersion reads the new row, saveCheckpoint the checkpoint, an alias conflict
 * the alias). The batch keeps this much in hand, so nothing after the commit runs out of budget.
 */
const AFTER_COMMIT = 4;

function countedStatement(stmt: D1PreparedStatement, count: () => void): D1PreparedStatement {
  const read = <T>(run: () => Promise<T>) => {
    count();
    return run();
  };
  const wrapped = {
    bind: (...params: unknown[]) => countedStatement(stmt.bind(...params), count),
    first: (col?: string) => read(() => (col === undefined ? stmt.first() : stmt.first(col))),
    all: () => read(() => stmt.all()),
    run: () => read(() => stmt.run()),
    raw: (opts?: { columnNames?: boolean }) => read(() => stmt.raw(opts as { columnNames: true })),
  } as unknown as D1PreparedStatement;
  innerOf.set(wrapped, stmt);
  return wrapped;
}

/**
 * A D1 database whose queries count against `budget`. `batch` goes to `onBatch` with the real
 * statements when given (a mutation's one batch), else to D1 after counting.
 */
export function countedDb(
  inner: D1Database,
  budget: QueryBudget,
  onBatch?: (statements: D1PreparedStatement[]) => Promise<D1Result[]>,
  countRead: () => void = () => budget.take(1, FINISH),
): D1Database {
  return {
    prepare: (sql: string) => countedStatement(inner.prepare(sql), countRead),
    batch: async <T>(statements: D1PreparedStatement[]) => {
      const real = statements.map(unwrap);
      if (onBatch) return (await onBatch(real)) as D1Result<T>[];
      budget.take(real.length);
      return inner.batch<T>(real);
    },
    exec: () => {
      throw new Error('A push runs no exec(): its queries are counted.');
    },
    withSession: () => {
      throw new Error('A push runs no session: its queries are counted.');
    },
    dump: () => inner.dump(),
  } as D1Database;
}

/**
 * The database one mutation is applied through: reads count against the push's budget, and its
 * one `batch()` also carries `extra` (the seq record, and a stored answer for a conflict), so
 * the mutation's writes, its seq and its answer commit together or not at all. A second batch
 * is a programming error (a domain function that should hand its statements to the applier):
 * it throws rather than write outside the compare-and-set.
 */
export class MutationDb {
  committed = false;
  readonly extra: D1PreparedStatement[];
  readonly db: D1Database;

  constructor(
    inner: D1Database,
    budget: QueryBudget,
    readonly seq: number,
    seqWrite: D1PreparedStatement,
  ) {
    this.extra = [seqWrite];
    const countRead = () => (this.committed ? budget.spend(1) : budget.take(1, FINISH));
    this.db = countedDb(inner, budget, async (statements) => {
      if (this.committed) throw new Error(`Mutation ${seq} tried a second batch; a mutation's writes go in one batch with its seq record.`);
      const all = [...statements, ...this.extra].map(unwrap);
      budget.take(all.length, AFTER_COMMIT);
      try {
        const results = await inner.batch(all);
        this.committed = true;
        return results.slice(0, statements.length);
      } catch (err) {
        if (isSeqTakenError(err)) throw new SeqTaken(seq);
        throw err;
      }
    }, countRead);
  }
}
