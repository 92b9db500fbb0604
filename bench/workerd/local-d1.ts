// The local D1 that `wrangler dev --persist-to <dir>` serves, opened from Node before wrangler
// starts: Miniflare on the same directory and database id (as `wrangler d1 execute --local`
// does), so seed.ts writes its rows with the real D1 of workerd. Statements travel to a small
// Worker in one request per batch, blobs as hex beside their JSON: through Miniflare's
// own D1 proxy a bound 1 MB blob costs seconds. Only prepare/bind/batch are offered (a batch
// answers each statement's rows): what seed.ts and worker/db/metrics.ts's writers call.
import { Miniflare } from 'miniflare';

/** The database id of wrangler.toml's DB binding: the name of the local database's file depends on it. */
export const DATABASE_ID = '00000000-0000-0000-0000-000000000000';

/**
 * Runs each request's statements with `env.DB.batch`: a 4-byte length, the statements' JSON, then
 * the blobs as hex text. A blob is bound as that text and SQLite turns it back into the same bytes
 * (each `?N` of a blob parameter reads `unhex(?N)`): the local D1 carries a bound ArrayBuffer as a
 * JSON array of numbers, which costs it about 10 ms per 20 KB segment.
 */
const SCRIPT = `
export default {
  async fetch(request, env) {
    const body = new Uint8Array(await request.arrayBuffer());
    const length = new DataView(body.buffer).getUint32(0, true);
    const statements = JSON.parse(new TextDecoder().decode(body.subarray(4, 4 + length)));
    const blobs = new TextDecoder().decode(body.subarray(4 + length));
    try {
      const bound = statements.map((s) => {
        let sql = s.sql;
        const params = s.params.map((p, i) => {
          if (p === null || typeof p !== 'object') return p;
          const name = new RegExp('[?]' + (i + 1) + '(?![0-9])', 'g');
          if (!name.test(sql)) throw new Error('a blob must be bound to a numbered parameter (?' + (i + 1) + '): ' + sql);
          sql = sql.replace(name, 'unhex(?' + (i + 1) + ')');
          return blobs.slice(p.at, p.at + p.length);
        });
        return env.DB.prepare(sql).bind(...params);
      });
      const results = await env.DB.batch(bound);
      return Response.json(results.map((r) => r.results));
    } catch (err) {
      return new Response(String(err && err.stack ? err.stack : err), { status: 500 });
    }
  },
};`;

type Param = string | number | null | ArrayBuffer | ArrayBufferView;

class Statement {
  constructor(
    readonly sql: string,
    readonly params: Param[] = [],
  ) {}

  bind(...params: Param[]): Statement {
    return new Statement(this.sql, params);
  }
}

export interface LocalD1 {
  /** prepare/bind/batch of D1Database, enough for seed.ts. */
  db: D1Database;
  /** Batches sent, their bytes, and the time spent waiting for D1 to run them. */
  stats: { batches: number; bytes: number; ms: number };
  close(): Promise<void>;
}

/** Opens the local D1 kept under `persistTo` (wrangler's `--persist-to`); migrations must be applied already. */
export async function openLocalD1(persistTo: string): Promise<LocalD1> {
  const mf = new Miniflare({
    modules: true,
    script: SCRIPT,
    compatibilityDate: '2026-04-20',
    d1Persist: `${persistTo}/v3/d1`,
    d1Databases: { DB: DATABASE_ID },
  });
  await mf.ready;
  const stats = { batches: 0, bytes: 0, ms: 0 };
  const db = {
    prepare: (sql: string) => new Statement(sql),
    async batch(statements: Statement[]) {
      const blobs: Buffer[] = [];
      let at = 0;
      const head = statements.map((s) => ({
        sql: s.sql,
        params: s.params.map((p) => {
          if (p === null || typeof p !== 'object') return p;
          const bytes = p instanceof ArrayBuffer ? Buffer.from(p) : Buffer.from(p.buffer, p.byteOffset, p.byteLength);
          const hex = Buffer.from(bytes.toString('hex'), 'latin1');
          blobs.push(hex);
          at += hex.byteLength;
          return { at: at - hex.byteLength, length: hex.byteLength };
        }),
      }));
      const json = Buffer.from(JSON.stringify(head));
      const length = Buffer.alloc(4);
      length.writeUInt32LE(json.byteLength);
      const body = Buffer.concat([length, json, ...blobs]);
      const start = performance.now();
      const res = await mf.dispatchFetch('http://local-d1/batch', { method: 'POST', body });
      const text = await res.text();
      stats.batches++;
      stats.bytes += body.byteLength;
      stats.ms += performance.now() - start;
      if (!res.ok) throw new Error(`local D1 batch failed: ${text}`);
      return (JSON.parse(text) as unknown[][]).map((results) => ({ success: true, results, meta: {} }));
    },
  };
  return { db: db as unknown as D1Database, stats, close: () => mf.dispose() };
}
