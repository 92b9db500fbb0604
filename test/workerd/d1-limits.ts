import { createExecutionContext, env, waitOnExecutionContext } from 'cloudflare:test';
import { utf8Length } from '../../shared/encoding.ts';
import { LIMITS } from '../../shared/limits.ts';
import worker from '../../worker/worker.ts';

/**
 * Production D1 limits, enforced in the workerd tests (DESIGN §6). Local D1 does not enforce
 * them, so without this wrapper a route could pass every test here and fail in production: the
 * Worker under test sees a D1 binding that counts every query of one invocation (each
 * `first/all/run/raw` is one, each statement of a `batch()` is one) and checks every
 * statement's bound parameters, SQL bytes and bound value bytes.
 *
 * A breach throws (so the Worker fails where it breaches) AND is recorded: the Worker may catch
 * the error and answer 500, so `setup.ts` fails the test in `afterEach` when anything was
 * recorded.
 */
export interface D1Usage {
  /** Queries this invocation made so far. */
  queries: number;
  /** Round trips to D1 so far, when counted: each `first/all/run/raw`, `batch()` or `exec()` call is one. */
  roundTrips?: number;
}

const breaches: string[] = [];

/** Breaches recorded since the last call, emptied. */
export function takeBreaches(): string[] {
  return breaches.splice(0);
}

function breach(message: string): never {
  const full = `production D1 limit breached: ${message}`;
  breaches.push(full);
  throw new Error(full);
}

const valueBytes = (v: unknown): number =>
  typeof v === 'string' ? utf8Length(v) : v instanceof ArrayBuffer ? v.byteLength : ArrayBuffer.isView(v) ? v.byteLength : 0;

function checkParams(sql: string, params: unknown[]): void {
  if (params.length > LIMITS.d1BoundParameters) {
    breach(`${params.length} bound parameters (at most ${LIMITS.d1BoundParameters}) in: ${sql.slice(0, 200)}`);
  }
  params.forEach((p, i) => {
    const n = valueBytes(p);
    if (n > LIMITS.d1ValueBytes) breach(`bound value ${i + 1} has ${n} bytes (at most ${LIMITS.d1ValueBytes}) in: ${sql.slice(0, 200)}`);
  });
}

/** The real statement behind each wrapped one, for `batch()`. */
const innerOf = new WeakMap<object, D1PreparedStatement>();

/** Wraps a D1 binding so that `usage` counts this invocation's queries and every limit is checked. */
export function limitedD1(inner: D1Database, usage: D1Usage): D1Database {
  const count = (n: number) => {
    if (usage.roundTrips !== undefined) usage.roundTrips += 1;
    usage.queries += n;
    if (usage.queries > LIMITS.d1QueriesPerInvocation) {
      breach(`${usage.queries} queries in one invocation (at most ${LIMITS.d1QueriesPerInvocation})`);
    }
  };
  const wrap = (sql: string, stmt: D1PreparedStatement): D1PreparedStatement => {
    const wrapped = {
      bind: (...params: unknown[]) => {
        checkParams(sql, params);
        return wrap(sql, stmt.bind(...params));
      },
      first: (col?: string) => (count(1), col === undefined ? stmt.first() : stmt.first(col)),
      all: () => (count(1), stmt.all()),
      run: () => (count(1), stmt.run()),
      raw: (opts?: { columnNames?: boolean }) => (count(1), stmt.raw(opts as { columnNames: true })),
    } as unknown as D1PreparedStatement;
    innerOf.set(wrapped, stmt);
    return wrapped;
  };
  return {
    prepare(sql: string) {
      const bytes = utf8Length(sql);
      if (bytes > LIMITS.d1StatementBytes) breach(`a statement of ${bytes} bytes (at most ${LIMITS.d1StatementBytes})`);
      return wrap(sql, inner.prepare(sql));
    },
    async batch<T>(statements: D1PreparedStatement[]) {
      count(statements.length);
      return inner.batch<T>(statements.map((s) => innerOf.get(s) ?? s));
    },
    exec(sql: string) {
      // exec runs each `;`-separated statement: count them all.
      count(Math.max(1, sql.split(';').filter((s) => s.trim()).length));
      return inner.exec(sql);
    },
    withSession() {
      throw new Error('the D1 limits wrapper does not support withSession(): add it here when the Worker starts using sessions');
    },
    dump: () => inner.dump(),
  } as D1Database;
}

/**
 * Sends a request to the Worker's own `fetch` (not SELF, whose binding this wrapper cannot
 * reach) with the limited D1 binding, and waits for its `waitUntil` work, which belongs to the
 * same invocation. Answers the response, how many D1 queries the invocation made and in how many round trips.
 */
export async function fetchLimited(request: Request): Promise<{ res: Response; queries: number; roundTrips: number }> {
  const usage: D1Usage = { queries: 0, roundTrips: 0 };
  const ctx = createExecutionContext();
  const res = await worker.fetch(request, { ...env, DB: limitedD1(env.DB, usage) }, ctx);
  await waitOnExecutionContext(ctx);
  return { res, queries: usage.queries, roundTrips: usage.roundTrips ?? 0 };
}
