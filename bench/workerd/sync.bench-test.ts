// Sync push and pull of 10,000 metric points through the Worker (SELF.fetch to /sync/push and
// /sync/pull) against plain D1 writing and reading the same rows, in the same workerd; and a
// push of 500 mixed mutations (its production D1 queries, and its time against applying the
// same mutations one at a time).
import { env, SELF } from 'cloudflare:test';
import { expect, it } from 'vitest';
import { utf8Length } from '../../shared/encoding.ts';
import { formatHlc } from '../../shared/hlc.ts';
import { modelId, uuidv7 } from '../../shared/ids.ts';
import { LIMITS } from '../../shared/limits.ts';
import { PROTOCOL_HEADER, PROTOCOL_VERSION, type PullResponse, type PushResponse, type WireMutation } from '../../shared/sync.ts';
import { checkApplied, MIXED, mixedMutations, perMutation, pushMixed } from './push-mixed.ts';
import { createPlainTable, PLAIN_TABLE, plainRows, storedPoints } from './plain-metrics.ts';
import { median, report, timed } from './report.ts';

const ADMIN = 'hgr_test_admin_token';
const POINTS = 10_000;
const ROUNDS = 5;
const KEYS = ['loss', 'accuracy', 'val/loss', 'val/accuracy', 'lr'];
/** What the client engine keeps a push body under (web/client/sync/engine.ts: PUSH_BYTES). */
const PUSH_BYTES = LIMITS.jsonBodyBytes - 16 * 1024;

interface Point {
  id: string;
  key: string;
  value: number;
  step: number;
  wallclock: number;
}

/** 10,000 points as a training run logs them: five keys per step, fresh ids. */
function makePoints(): Point[] {
  const t0 = Date.now();
  return Array.from({ length: POINTS }, (_, i) => ({
    id: uuidv7(t0),
    key: KEYS[i % KEYS.length]!,
    value: Math.random(),
    step: Math.floor(i / KEYS.length),
    wallclock: t0 + i,
  }));
}

const chunks = <T>(xs: T[], size: number) => Array.from({ length: Math.ceil(xs.length / size) }, (_, i) => xs.slice(i * size, i * size + size));

let tick = 0;
const hlc = () => formatHlc(Date.now(), ++tick, 'bench');

function sync(method: 'GET' | 'POST', ns: string, path: string, body?: unknown): Promise<Response> {
  return SELF.fetch(`https://hangar.test/api/v1/namespaces/${ns}/sync/${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json', [PROTOCOL_HEADER]: String(PROTOCOL_VERSION) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

/**
 * The mutations as the client engine sends them: `metrics.log` of at most 1000 points each, in
 * pushes of at most LIMITS.mutationsPerPush mutations whose args stay under PUSH_BYTES (the
 * engine's rule: each mutation counts its JSON args plus 128 bytes).
 */
function pushBodies(clientId: string, mutations: WireMutation[], afterSeq: number) {
  const bodies: { clientId: string; afterSeq: number; mutations: WireMutation[] }[] = [];
  let batch: WireMutation[] = [];
  let bytes = 0;
  let after = afterSeq;
  const close = () => {
    bodies.push({ clientId, afterSeq: after, mutations: batch });
    after = batch.at(-1)!.seq;
    batch = [];
    bytes = 0;
  };
  for (const m of mutations) {
    const size = utf8Length(JSON.stringify(m.args)) + 128;
    if (batch.length && (bytes + size > PUSH_BYTES || batch.length === LIMITS.mutationsPerPush)) close();
    batch.push(m);
    bytes += size;
  }
  if (batch.length) close();
  return bodies;
}

let namespaces = 0;

interface Pushed {
  ns: string;
  parentId: string;
  clientId: string;
  ms: number;
  pushes: number;
}

/**
 * One push round in a fresh namespace: the model is created first (its own push, not timed),
 * then the 10,000 points are pushed as 10 `metrics.log` mutations, timed from the first push
 * request to the last answer read.
 */
async function pushRound(points: Point[]): Promise<Pushed> {
  const ns = `sync${++namespaces}`;
  const clientId = uuidv7();
  const name = 'run';
  const parentId = await modelId(ns, name);
  const created = await sync('POST', ns, 'push', {
    clientId,
    afterSeq: 0,
    mutations: [{ seq: 1, name: 'model.create', args: { id: parentId, name, owner: null, task: null, description: null }, hlc: hlc() }],
  });
  expect(created.status).toBe(200);
  expect(((await created.json()) as PushResponse).results[0]!.status).toBe('applied');
  const mutations: WireMutation[] = chunks(points, LIMITS.metricsPerRequest).map((c, i) => ({
    seq: i + 2,
    name: 'metrics.log',
    args: { parentId, points: c },
    hlc: hlc(),
  }));
  const bodies = pushBodies(clientId, mutations, 1);
  let applied = 0;
  const ms = await timed(async () => {
    for (const body of bodies) {
      const res = await sync('POST', ns, 'push', body);
      if (res.status !== 200) throw new Error(`push answered ${res.status}: ${await res.text()}`);
      const out = (await res.json()) as PushResponse;
      applied += out.results.filter((r) => r.status === 'applied').length;
    }
  });
  expect(applied).toBe(mutations.length);
  expect(await storedPoints(parentId)).toBe(POINTS);
  return { ns, parentId, clientId, ms, pushes: bodies.length };
}

/** Every page of the namespace's change log from cursor 0, the points counted; ends with I/O so the last parse is timed. */
async function pullRound(p: Pushed): Promise<{ ms: number; pages: number }> {
  let points = 0;
  let pages = 0;
  const ms = await timed(async () => {
    let cursor = 0;
    for (;;) {
      const res = await sync('GET', p.ns, `pull?clientId=${p.clientId}&cursor=${cursor}`);
      if (res.status !== 200) throw new Error(`pull answered ${res.status}: ${await res.text()}`);
      const page = (await res.json()) as PullResponse;
      pages++;
      for (const c of page.changes) if (c.entity === 'metrics') points += (c.data.points as unknown[]).length;
      cursor = page.cursor;
      if (!page.more) break;
    }
    await env.DB.prepare('SELECT 1').first();
  });
  expect(points).toBe(POINTS);
  return { ms, pages };
}

/** The substrate of the pull: one plain SELECT of the same 10,000 rows; ends with the same trailing I/O. */
async function plainSelect(parentId: string): Promise<number> {
  let rows = 0;
  const ms = await timed(async () => {
    const { results } = await env.DB.prepare(`SELECT id, key, value, step, wallclock FROM ${PLAIN_TABLE} WHERE parent_id = ?`).bind(parentId).all<Point>();
    rows = results.length;
    await env.DB.prepare('SELECT 1').first();
  });
  expect(rows).toBe(POINTS);
  return ms;
}

/** The substrate of the push: the same rows as plain D1 batch() calls of one INSERT per row, 1000 per batch. */
async function plainInsert(points: Point[]): Promise<{ ms: number; parentId: string }> {
  const parentId = uuidv7();
  await createPlainTable();
  const stmt = env.DB.prepare(`INSERT INTO ${PLAIN_TABLE} (id, namespace, parent_id, key, value, step, wallclock) VALUES (?, ?, ?, ?, ?, ?, ?)`);
  const ms = await timed(async () => {
    for (const c of chunks(points, LIMITS.metricsPerRequest)) {
      await env.DB.batch(c.map((r) => stmt.bind(r.id, 'plain', parentId, r.key, r.value, r.step, r.wallclock)));
    }
  });
  expect(await plainRows(parentId)).toBe(POINTS);
  return { ms, parentId };
}

const round1 = (x: number) => Math.round(x * 10) / 10;

it('pushes and pulls 10,000 metric points through /sync vs plain D1 insert and select', async () => {
  const samples = { push: [] as number[], plainInsert: [] as number[], pull: [] as number[], plainSelect: [] as number[] };
  let pushes = 0;
  let pages = 0;
  // Round 0 warms up and is not counted; the side that goes first alternates each round.
  for (let round = 0; round <= ROUNDS; round++) {
    const hangarFirst = round % 2 === 0;
    const hangar = async () => {
      const pushed = await pushRound(makePoints());
      const pulled = await pullRound(pushed);
      pushes = pushed.pushes;
      pages = pulled.pages;
      return { push: pushed.ms, pull: pulled.ms };
    };
    const plain = async () => {
      const inserted = await plainInsert(makePoints());
      return { insert: inserted.ms, select: await plainSelect(inserted.parentId) };
    };
    let h: { push: number; pull: number };
    let p: { insert: number; select: number };
    if (hangarFirst) {
      h = await hangar();
      p = await plain();
    } else {
      p = await plain();
      h = await hangar();
    }
    console.log(`sync round ${round}${round === 0 ? ' (warm-up)' : ''}: push ${round1(h.push)} ms, plain insert ${round1(p.insert)} ms, pull ${round1(h.pull)} ms, plain select ${round1(p.select)} ms`);
    if (round === 0) continue;
    samples.push.push(h.push);
    samples.pull.push(h.pull);
    samples.plainInsert.push(p.insert);
    samples.plainSelect.push(p.select);
  }
  const how = `median of ${ROUNDS} rounds after a warm-up, the side going first alternating, each Hangar round in a fresh namespace`;
  report({
    name: 'Sync push of 10,000 metric points (10 metrics.log mutations) through /sync/push',
    value: round1(median(samples.push)),
    unit: 'ms',
    baseline: round1(median(samples.plainInsert)),
    goal: '≤ 1.5',
    note:
      `Hangar: POST /namespaces/{ns}/sync/push via SELF.fetch with the admin token and the hangar-protocol header, the points as 10 metrics.log mutations of 1000 points each (as the client library makes them), batched as its engine batches them (≤ ${LIMITS.mutationsPerPush} mutations, JSON args + 128 bytes each under ${PUSH_BYTES} bytes): ${pushes} pushes, timed from the first request to the last answer read (the model.create before it is pushed apart, untimed); ` +
      `baseline: the same 10,000 rows into a plain table of one row per point (the layout before migration 0009: bench/workerd/plain-metrics.ts) as plain D1 batch() calls of one INSERT per row, 10 × 1000, in the same workerd; ${how}.`,
    samples: samples.push.map(round1),
    baselineSamples: samples.plainInsert.map(round1),
  });
  report({
    name: 'Sync pull of 10,000 metric points (every page of /sync/pull from cursor 0)',
    value: round1(median(samples.pull)),
    unit: 'ms',
    baseline: round1(median(samples.plainSelect)),
    goal: '≤ 1.5',
    note:
      `Hangar: GET /namespaces/{ns}/sync/pull?clientId&cursor via SELF.fetch, page after page until more is false (${pages} page(s): the model.create and 10 metrics.log changes), each answer parsed and its points counted; ` +
      `baseline: one plain D1 SELECT id, key, value, step, wallclock FROM plain_metrics WHERE parent_id = ? of the same 10,000 rows (.all()); both sides end with a trivial D1 query so the clock (which moves only across I/O in workerd) includes the last parse; ${how}.`,
    samples: samples.pull.map(round1),
    baselineSamples: samples.plainSelect.map(round1),
  });
});

it('pushes 500 mixed mutations within production D1 limits vs applying them one at a time', async () => {
  const samples = { hangar: [] as number[], peer: [] as number[] };
  let used = { queries: 0, pushes: 0, maxQueries: 0 };
  let peerQueries = 0;
  for (let round = 0; round <= ROUNDS; round++) {
    const hangar = async () => {
      const { ns, mutations } = await mixedMutations();
      let r = used;
      const ms = await timed(async () => {
        r = await pushMixed(ns, mutations);
      });
      await checkApplied(ns);
      used = r;
      return ms;
    };
    const peer = async () => {
      const { ns, mutations } = await mixedMutations();
      const ms = await timed(async () => {
        peerQueries = (await perMutation(ns, mutations)).queries;
      });
      await checkApplied(ns);
      return ms;
    };
    let h: number;
    let p: number;
    if (round % 2 === 0) {
      h = await hangar();
      p = await peer();
    } else {
      p = await peer();
      h = await hangar();
    }
    console.log(`mixed push round ${round}${round === 0 ? ' (warm-up)' : ''}: push ${round1(h)} ms (${used.queries} queries in ${used.pushes} pushes), per mutation ${round1(p)} ms (${peerQueries} queries)`);
    if (round === 0) continue;
    samples.hangar.push(h);
    samples.peer.push(p);
  }
  const what = `${MIXED} mutations of every kind, 50 models each with model.create, model.update, version.create, metadata.set, metadata.delete, 2 × metrics.log (10 points), artifact.register, checkpoint.save, alias.set`;
  report({
    name: `Sync push of ${MIXED} mixed mutations: D1 queries`,
    value: used.queries,
    unit: 'queries',
    baseline: null,
    goal: `≤ ${LIMITS.d1QueriesPerInvocation}`,
    note:
      `${what}; the domain push as POST …/sync/push runs it, sent as the client engine sends it (resent from where the server stopped while complete is false): ${used.pushes} pushes, at most ${used.maxQueries} queries in one (production allows ${LIMITS.d1QueriesPerInvocation} per invocation, enforced here by the test D1 wrapper); ` +
      `the per-mutation peer (one domain call and one seq batch at a time, no run, no row cache) used ${peerQueries} queries for the same mutations.`,
  });
  report({
    name: `Sync push of ${MIXED} mixed mutations: time vs one mutation at a time`,
    value: round1(median(samples.hangar)),
    unit: 'ms',
    baseline: round1(median(samples.peer)),
    goal: '≤ 1',
    note:
      `${what}. Hangar: the domain push in pushes as above (runs of consecutive mutations in one batch with one seq record, shared change-log, metric and artifact statements, prefetched reads, query budget), in-process with the counting D1 wrapper; ` +
      `peer: the same mutations applied one at a time, each its own domain call with its seq record in its batch, with the same wrapper, in the same workerd; median of ${ROUNDS} rounds after a warm-up, the side going first alternating, each side in a fresh namespace.`,
    samples: samples.hangar.map(round1),
    baselineSamples: samples.peer.map(round1),
  });
});
