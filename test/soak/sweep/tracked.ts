/**
 * The Worker's bindings, wrapped to record every write a request makes: D1 statements that
 * changed rows (as D1's own `meta.changes` reports them, so an UPDATE that keeps the row counts
 * shows too) and R2 calls that store or delete. A refused request must record none. Each
 * request gets its own wrapper, so requests can run side by side.
 */
const REAL = Symbol('real');
const WRITE = /\b(INSERT|UPDATE|DELETE|REPLACE|CREATE|DROP|ALTER)\b/i;

type Writes = string[];

function statement(real: D1PreparedStatement, sql: string, writes: Writes): D1PreparedStatement {
  const write = WRITE.test(sql);
  const note = (meta: { changes?: number; rows_written?: number } | undefined) => {
    if (write && ((meta?.changes ?? 0) > 0 || (meta?.rows_written ?? 0) > 0)) writes.push(`D1: ${sql.replace(/\s+/g, ' ').slice(0, 80)}`);
  };
  const wrapped = {
    [REAL]: real,
    sql,
    bind: (...values: unknown[]) => statement(real.bind(...values), sql, writes),
    run: async () => {
      const r = await real.run();
      note(r.meta);
      return r;
    },
    all: async () => {
      const r = await real.all();
      note(r.meta);
      return r;
    },
    // No meta here: a write statement that answered a row (RETURNING) wrote it.
    first: async (column?: string) => {
      const r = await (column === undefined ? real.first() : real.first(column));
      if (write && r !== null) writes.push(`D1 (first): ${sql.slice(0, 80)}`);
      return r;
    },
    raw: async (opts?: { columnNames?: boolean }) => {
      const r = (await real.raw(opts as { columnNames: true })) as unknown[];
      if (write && r.length > (opts?.columnNames ? 1 : 0)) writes.push(`D1 (raw): ${sql.slice(0, 80)}`);
      return r;
    },
  };
  return wrapped as unknown as D1PreparedStatement;
}

function database(real: D1Database, writes: Writes): D1Database {
  return {
    prepare: (sql: string) => statement(real.prepare(sql), sql, writes),
    batch: async (statements: D1PreparedStatement[]) => {
      const results = await real.batch(statements.map((s) => (s as unknown as { [REAL]: D1PreparedStatement })[REAL] ?? s));
      results.forEach((r, i) => {
        const meta = r.meta as { changes?: number; rows_written?: number } | undefined;
        if ((meta?.changes ?? 0) > 0 || (meta?.rows_written ?? 0) > 0) writes.push(`D1 (batch): ${String((statements[i] as unknown as { sql?: string }).sql ?? '?').replace(/\s+/g, ' ').slice(0, 80)}`);
      });
      return results;
    },
    exec: async (query: string) => {
      writes.push(`D1 exec: ${query.slice(0, 80)}`);
      return real.exec(query);
    },
    withSession: (constraint?: string) => real.withSession(constraint),
    dump: () => real.dump(),
  } as unknown as D1Database;
}

function bucket(real: R2Bucket, writes: Writes): R2Bucket {
  const upload = (u: R2MultipartUpload): R2MultipartUpload =>
    ({
      key: u.key,
      uploadId: u.uploadId,
      uploadPart: async (...args: Parameters<R2MultipartUpload['uploadPart']>) => {
        const r = await u.uploadPart(...args);
        writes.push('R2: part stored');
        return r;
      },
      complete: async (parts: R2UploadedPart[]) => {
        const r = await u.complete(parts);
        writes.push('R2: multipart upload completed');
        return r;
      },
      abort: async () => {
        await u.abort();
        writes.push('R2: multipart upload aborted');
      },
    }) as R2MultipartUpload;
  return {
    head: (key: string) => real.head(key),
    get: (...args: Parameters<R2Bucket['get']>) => real.get(...args),
    list: (opts?: R2ListOptions) => real.list(opts),
    put: async (...args: Parameters<R2Bucket['put']>) => {
      const r = await real.put(...args);
      if (r) writes.push(`R2: put ${args[0]}`);
      return r;
    },
    delete: async (keys: string | string[]) => {
      await real.delete(keys);
      writes.push(`R2: delete ${String(keys)}`);
    },
    createMultipartUpload: async (...args: Parameters<R2Bucket['createMultipartUpload']>) => {
      const u = await real.createMultipartUpload(...args);
      writes.push('R2: multipart upload started');
      return upload(u);
    },
    resumeMultipartUpload: (key: string, id: string) => upload(real.resumeMultipartUpload(key, id)),
  } as unknown as R2Bucket;
}

/** The bindings of `env` with D1 and R2 recording writes into the returned list. */
export function tracked(env: Cloudflare.Env): { env: Cloudflare.Env; writes: Writes } {
  const writes: Writes = [];
  return { env: { ...env, DB: database(env.DB, writes), BLOBS: bucket(env.BLOBS, writes) }, writes };
}
