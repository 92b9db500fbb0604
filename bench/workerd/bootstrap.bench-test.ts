// Bootstrap (DESIGN §6): every page of GET /sync/snapshot for a namespace of 1,000 versions with a
// long metric history seeded straight into D1, against replaying its change log through
// /sync/pull; and the snapshot again after the history doubled (it should not grow).
import { env, SELF } from 'cloudflare:test';
import { expect, it } from 'vitest';
import { uuidv7 } from '../../shared/ids.ts';
import type { SnapshotPage } from '../../shared/snapshot.ts';
import { PROTOCOL_HEADER, PROTOCOL_VERSION, type PullResponse } from '../../shared/sync.ts';
import { median, report, timed } from './report.ts';
import { seedPoints as seedPointsOf, seedRegistry as seedRegistryOf } from './seed.ts';

const ADMIN = 'hgr_test_admin_token';
const MODELS = 10;
const VERSIONS = 1000;
const KEYS = ['loss', 'accuracy'];
/** Points per key per version in the first history; the second doubles it. */
const STEPS = 100;
const ROUNDS = 3;

/** 10 models of 100 versions each, with a metadata key per version, and their change-log rows (seed.ts). */
const seedRegistry = (ns: string) => seedRegistryOf(env.DB, ns, { models: MODELS, versions: VERSIONS });

/** `steps` more points per key of every version (steps from `from`), as the Worker stores them (seed.ts). */
const seedPoints = (ns: string, versions: string[], from: number, steps: number) => seedPointsOf(env.DB, ns, versions, { keys: KEYS, from, steps });

const get = (path: string) =>
  SELF.fetch(`https://hangar.test/api/v1${path}`, { headers: { authorization: `Bearer ${ADMIN}`, [PROTOCOL_HEADER]: String(PROTOCOL_VERSION) } });

/** Every snapshot page: bytes on the wire (uncompressed JSON) and requests. */
async function readSnapshot(ns: string) {
  let bytes = 0;
  let requests = 0;
  let summaries = 0;
  let versions = 0;
  let token: string | undefined;
  do {
    const res = await get(`/namespaces/${ns}/sync/snapshot${token ? `?pageToken=${encodeURIComponent(token)}` : ''}`);
    const text = await res.text();
    expect(res.status, text.slice(0, 200)).toBe(200);
    bytes += new TextEncoder().encode(text).byteLength;
    requests++;
    const page = JSON.parse(text) as SnapshotPage;
    summaries += page.metrics.length;
    versions += page.versions.length;
    token = page.nextPageToken;
  } while (token);
  return { bytes, requests, summaries, versions };
}

/** Every page of the change log from cursor 0. */
async function replay(ns: string) {
  let bytes = 0;
  let cursor = 0;
  const clientId = uuidv7();
  for (let more = true; more; ) {
    const res = await get(`/namespaces/${ns}/sync/pull?clientId=${clientId}&cursor=${cursor}`);
    const text = await res.text();
    bytes += new TextEncoder().encode(text).byteLength;
    const page = JSON.parse(text) as PullResponse;
    cursor = page.cursor;
    more = page.more;
  }
  return { bytes };
}

const round1 = (x: number) => Math.round(x * 10) / 10;

it('bootstraps a namespace of 1,000 versions from its snapshot, whatever the length of its history', async () => {
  const ns = 'bench-boot';
  const versions = await seedRegistry(ns);
  await seedPoints(ns, versions, 0, STEPS);
  const points = versions.length * KEYS.length * STEPS;
  const short: { ms: number[]; read?: Awaited<ReturnType<typeof readSnapshot>> } = { ms: [] };
  for (let r = 0; r < ROUNDS; r++) short.ms.push(await timed(async () => (short.read = await readSnapshot(ns))));
  expect(short.read!.versions).toBe(VERSIONS);
  expect(short.read!.summaries).toBe(VERSIONS * KEYS.length);
  const replayed = await replay(ns);

  await seedPoints(ns, versions, STEPS, STEPS);
  const long: { ms: number[]; read?: Awaited<ReturnType<typeof readSnapshot>> } = { ms: [] };
  for (let r = 0; r < ROUNDS; r++) long.ms.push(await timed(async () => (long.read = await readSnapshot(ns))));
  const how = `${VERSIONS} versions of ${MODELS} models, each with a metadata key and ${KEYS.length} metric keys, seeded straight into D1 with their change-log rows; every page of GET /sync/snapshot via SELF.fetch, its JSON uncompressed; median of ${ROUNDS}`;
  report({
    name: `Bootstrap bytes: snapshot of ${VERSIONS} versions and ${points.toLocaleString('en')} points`,
    value: short.read!.bytes,
    unit: 'bytes',
    baseline: 5_000_000,
    goal: '≤ 1',
    note: `${how}, ${short.read!.requests} requests; baseline: the issue's budget of 5 MB. Replaying the same namespace's change log (every /sync/pull page from cursor 0) moves ${replayed.bytes.toLocaleString('en')} bytes.`,
  });
  report({
    name: `Bootstrap time: every snapshot page of ${VERSIONS} versions and ${points.toLocaleString('en')} points`,
    value: round1(median(short.ms)),
    unit: 'ms',
    baseline: 3000,
    goal: '≤ 1',
    note: `${how}; the server's part only (reading and sending), local D1; baseline: the issue's budget of 3 s for the whole bootstrap.`,
    samples: short.ms.map(round1),
  });
  report({
    name: `Bootstrap bytes with the history doubled (${(2 * points).toLocaleString('en')} points)`,
    value: long.read!.bytes,
    unit: 'bytes',
    baseline: short.read!.bytes,
    goal: '≤ 1.05',
    note: `${how}; baseline: the same namespace's snapshot before its history doubled: the snapshot carries summaries, so its size does not follow the history (its time: ${round1(median(long.ms))} ms against ${round1(median(short.ms))} ms).`,
  });
});
