// The local D1 that `wrangler dev --persist-to <dir>` serves, opened from Node before wrangler
// starts: Miniflare on the same directory and database id (as `wrangler d1 execute --local`
// does), so seed.ts writes its rows with the real D1 of workerd. Statements travel to a small
// Worker in one request per batch, blobs as raw bytes beside their JSON: through Miniflare's
// own D1 proxy a bound 1 MB blob costs seconds. Only prepare/bind/batch are offered: what
// seed.ts and worker/db/metrics.ts's writers call.
import { Miniflare } from 'miniflare';

/** The database id of wrangler.toml's DB binding: the name of the local database's file depends on it. */
export const DATABASE_ID = '00000000-0000-0000-0000-000000000000';

/** Runs each request's statements with `env.DB.batch`: a 4-byte length, the statements' JSON, then the blobs. */
const SCRIPT = `
export default {
  async fetch(request, env) {
    const body = new Uint8Array(await request.arrayBuffer());
    const length = new DataView(body.buffer).getUint32(0, true);
    const statements = JSON.parse(new TextDecoder().decode(body.subarray(4, 4 + length)));
    const blobs = body.subarray(4 + length);
    const bound = statements.map((s) =>
      env.DB.prepare(s.sql).bind(...s.params.map((p) => (p !== null && typeof p === 'object' ? blobs.slice(p.at, p.at + p.length).buffer : p))),
    );
    try {
      await env.DB.batch(bound);
      return new Response('ok');
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
      const blobs: Uint8Array[] = [];
      let at = 0;
      const head = statements.map((s) => ({
        sql: s.sql,
        params: s.params.map((p) => {
          if (p === null || typeof p !== 'object') return p;
          const bytes = p instanceof ArrayBuffer ? new Uint8Array(p) : new Uint8Array(p.buffer, p.byteOffset, p.byteLength);
          blobs.push(bytes);
          at += bytes.byteLength;
          return { at: at - bytes.byteLength, length: bytes.byteLength };
        }),
      }));
      const json = new TextEncoder().encode(JSON.stringify(head));
      const body = new Uint8Array(4 + json.byteLength + at);
      new DataView(body.buffer).setUint32(0, json.byteLength, true);
      body.set(json, 4);
      let offset = 4 + json.byteLength;
      for (const b of blobs) {
        body.set(b, offset);
        offset += b.byteLength;
      }
      const start = performance.now();
      const res = await mf.dispatchFetch('http://local-d1/batch', { method: 'POST', body });
      const text = await res.text();
      stats.batches++;
      stats.bytes += body.byteLength;
      stats.ms += performance.now() - start;
      if (!res.ok) throw new Error(`local D1 batch failed: ${text}`);
      return [];
    },
  };
  return { db: db as unknown as D1Database, stats, close: () => mf.dispose() };
}
