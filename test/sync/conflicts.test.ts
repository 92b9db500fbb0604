import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Hangar } from '../../web/client/index.ts';
import { startServer, type HangarServer } from '../browser/server.ts';
import { snapshot, syncedRegistry } from './clients.ts';

let server: HangarServer;
let token: string;
let n = 0;

beforeAll(async () => {
  server = await startServer();
  token = await server.token('rules', 'write');
});
afterAll(() => server?.close());

const ns = 'rules';

interface Row {
  /** DESIGN §3: the data and its rule. */
  rule: string;
  /** Both devices start from this, synced. */
  setup?: (h: Hangar, m: string) => Promise<void>;
  /** What the first device does offline; it syncs first. */
  first: (h: Hangar, m: string) => Promise<void>;
  /** What the second device does offline, before seeing the first's writes. */
  second: (h: Hangar, m: string) => Promise<void>;
  /** What both end with, and the conflicts the second device lists. */
  expect: (h: Hangar, m: string) => Promise<unknown>;
  conflicts: string[];
  /** What `expect` answers on both devices afterwards. */
  want: () => unknown;
}

const model = (h: Hangar, m: string) => h.model(ns, m);
const version = async (h: Hangar, m: string, n: number) => (await model(h, m)).version(n);
const bytes = (byte: number) => new Uint8Array(64).fill(byte);
const file = (byte: number) => ({ path: 'weights.bin', file: new Blob([bytes(byte)]) });
const digest = async (byte: number) => Buffer.from(await crypto.subtle.digest('SHA-256', bytes(byte))).toString('hex');

const rows: Row[] = [
  {
    rule: 'model fields: last writer wins per field',
    first: async (h, m) => void (await (await model(h, m)).update({ owner: 'ann', description: 'first' })),
    second: async (h, m) => void (await (await model(h, m)).update({ description: 'second' })),
    expect: async (h, m) => (await model(h, m)).description + '/' + (await model(h, m)).owner,
    conflicts: [],
    want: () => 'second/ann',
  },
  {
    rule: 'metadata keys: last writer wins per key',
    first: async (h, m) => {
      await (await model(h, m)).updateMetadata('lr', 0.1);
      await (await model(h, m)).updateMetadata('seed', 1);
    },
    second: async (h, m) => (await model(h, m)).updateMetadata('lr', 0.2),
    expect: async (h, m) => (await model(h, m)).metadata(),
    conflicts: [],
    want: () => ({ lr: 0.2, seed: 1 }),
  },
  {
    rule: 'metric points: append-only, the union of both sides',
    first: async (h, m) => (await model(h, m)).logMetrics({ loss: 1 }, { step: 1 }),
    second: async (h, m) => (await model(h, m)).logMetrics({ loss: 2 }, { step: 1 }),
    expect: async (h, m) => (await (await model(h, m)).metricHistory('loss')).map((p) => ('value' in p ? p.value : null)).sort(),
    conflicts: [],
    want: () => [1, 2],
  },
  {
    rule: 'version numbers: the server numbers in arrival order',
    first: async (h, m) => void (await (await model(h, m)).newVersion({ name: 'first' })),
    second: async (h, m) => void (await (await model(h, m)).newVersion({ name: 'second' })),
    expect: async (h, m) => (await (await model(h, m)).versions()).map((v) => [v.number, v.name, v.numberConfirmed]),
    conflicts: [],
    want: () => [
      [1, 'first', true],
      [2, 'second', true],
    ],
  },
  {
    rule: 'version labels: the first to arrive keeps it, the later is kept without it',
    first: async (h, m) => void (await (await model(h, m)).newVersion({ version: 'gold' })),
    second: async (h, m) => void (await (await model(h, m)).newVersion({ version: 'gold' })),
    expect: async (h, m) => (await (await model(h, m)).versions()).map((v) => [v.number, v.version]),
    conflicts: ['version-label'],
    want: () => [
      [1, 'gold'],
      [2, null],
    ],
  },
  {
    rule: 'aliases: a move applies only where the alias still points as expected',
    setup: async (h, m) => {
      const mm = await model(h, m);
      await mm.newVersion();
      await mm.newVersion();
    },
    first: async (h, m) => (await model(h, m)).setAlias('prod', 1),
    second: async (h, m) => (await model(h, m)).setAlias('prod', 2),
    expect: async (h, m) => (await model(h, m)).aliases(),
    conflicts: ['alias'],
    want: () => ({ prod: 1 }),
  },
  {
    rule: 'artifacts: same path and digest is the same artifact',
    setup: async (h, m) => void (await (await model(h, m)).newVersion()),
    first: async (h, m) => void (await (await version(h, m, 1)).uploadArtifacts([file(1)])),
    second: async (h, m) => void (await (await version(h, m, 1)).uploadArtifacts([file(1)])),
    expect: async (h, m) => (await (await version(h, m, 1)).artifacts()).map((a) => [a.path, a.sha256]),
    conflicts: [],
    want: async () => [['weights.bin', await digest(1)]],
  },
  {
    rule: 'artifacts: same path, other digest is a conflict',
    setup: async (h, m) => void (await (await model(h, m)).newVersion()),
    first: async (h, m) => void (await (await version(h, m, 1)).uploadArtifacts([file(1)])),
    second: async (h, m) => void (await (await version(h, m, 1)).uploadArtifacts([file(2)])),
    expect: async (h, m) => (await (await version(h, m, 1)).artifacts()).map((a) => [a.path, a.sha256]),
    conflicts: ['artifact'],
    want: async () => [['weights.bin', await digest(1)]],
  },
  {
    rule: 'deletes: a version deleted while an alias moves onto it takes the alias along',
    setup: async (h, m) => {
      const mm = await model(h, m);
      await mm.newVersion();
      await mm.newVersion();
    },
    first: async (h, m) => (await version(h, m, 1)).delete(),
    second: async (h, m) => (await model(h, m)).setAlias('prod', 1),
    expect: async (h, m) => (await model(h, m)).aliases(),
    conflicts: ['deleted'],
    want: () => ({}),
  },
  {
    rule: 'deletes: a delete wins over a concurrent update',
    first: async (h, m) => (await model(h, m)).delete(),
    second: async (h, m) => void (await (await model(h, m)).update({ description: 'too late' })),
    expect: async (h, m) => model(h, m).then(() => 'alive', (e: { code: string }) => e.code),
    conflicts: ['deleted'],
    want: () => 'model-not-found',
  },
];


describe('conflict rules (DESIGN §3), device against device through the server', () => {
  it.each(rows)('$rule', async (row) => {
    const m = `m${++n}`;
    const a = await syncedRegistry(server, token, [ns]);
    const b = await syncedRegistry(server, token, [ns]);
    await a.hangar.newModel({ namespace: ns, name: m });
    await row.setup?.(a.hangar, m);
    await a.hangar.syncNow();
    await b.hangar.syncNow();
    a.net.offline = b.net.offline = true;
    await row.first(a.hangar, m);
    await row.second(b.hangar, m);
    a.net.offline = b.net.offline = false;
    await a.hangar.syncNow();
    await b.hangar.syncNow();
    await a.hangar.syncNow();

    const [onA, onB] = [await row.expect(a.hangar, m), await row.expect(b.hangar, m)];
    expect(onB).toEqual(onA);
    expect(onA).toEqual(await row.want());
    expect((await b.hangar.conflicts()).map((c) => c.kind)).toEqual(row.conflicts);
    expect(await a.hangar.conflicts()).toEqual([]);
    expect(await snapshot(b.hangar, ns)).toEqual(await snapshot(a.hangar, ns));
    await a.hangar.close();
    await b.hangar.close();
  });
});
