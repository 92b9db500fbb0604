import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Hangar } from '../../web/client/index.ts';
import { parentPoints } from '../../web/client/metric-store.ts';
import { startServer, type HangarServer } from '../browser/server.ts';
import { snapshot, syncedRegistry, type Fault } from './clients.ts';

/** Runs of the property in CI; each is a fresh namespace with three registries. */
const RUNS = Number(process.env.HANGAR_SYNC_RUNS ?? 30);

let server: HangarServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(() => server?.close());

const MODELS = ['alpha', 'alpha', 'alpha', 'beta'] as const;
/** What every run starts from: one model every registry has, so writes meet on it. */
const PREAMBLE: Command[] = [
  { op: 'create', c: 0, model: 'alpha', task: 't1' },
  ...[0, 1, 2].map((c) => ({ op: 'sync' as const, c, faults: [] })),
];
const LABELS = [undefined, 'gold', 'silver'] as const;

/** One thing a user or the network does, on client `c` (0–2). */
type Command =
  | { op: 'create'; c: number; model: string; task: string }
  | { op: 'version'; c: number; model: string; label: string | undefined }
  | { op: 'metric'; c: number; model: string; onVersion: boolean; value: number }
  | { op: 'metadata'; c: number; model: string; key: string; value: number }
  | { op: 'describe'; c: number; model: string; text: string }
  | { op: 'alias'; c: number; model: string; pick: number }
  | { op: 'delete'; c: number; model: string }
  | { op: 'sync'; c: number; faults: Fault[] }
  | { op: 'offline'; c: number; offline: boolean };

const client = fc.integer({ min: 0, max: 2 });
const model = fc.constantFrom(...MODELS);
const command: fc.Arbitrary<Command> = fc.oneof(
  { weight: 2, arbitrary: fc.record({ op: fc.constant('create' as const), c: client, model, task: fc.constantFrom('t1', 't2') }) },
  { weight: 5, arbitrary: fc.record({ op: fc.constant('version' as const), c: client, model, label: fc.constantFrom(...LABELS) }) },
  { weight: 4, arbitrary: fc.record({ op: fc.constant('metric' as const), c: client, model, onVersion: fc.boolean(), value: fc.double({ min: 0, max: 1, noNaN: true }) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('metadata' as const), c: client, model, key: fc.constantFrom('k1', 'k2'), value: fc.integer({ min: 0, max: 9 }) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('describe' as const), c: client, model, text: fc.constantFrom('x', 'y', 'z') }) },
  { weight: 4, arbitrary: fc.record({ op: fc.constant('alias' as const), c: client, model, pick: fc.nat(5) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('delete' as const), c: client, model }) },
  {
    weight: 4,
    arbitrary: fc.record({ op: fc.constant('sync' as const), c: client, faults: fc.array(fc.constantFrom<Fault>('none', 'drop-request', 'drop-response'), { maxLength: 3 }) }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('offline' as const), c: client, offline: fc.boolean() }) },
);

let runs = 0;

/** Applies a command; a refusal by the local registry (a model that exists, one deleted) is a user's error, not a failure. */
async function run(hangar: Hangar, ns: string, cmd: Command, logged: Set<string>): Promise<void> {
  const find = () => hangar.model(ns, cmd.op === 'sync' || cmd.op === 'offline' ? '' : cmd.model);
  try {
    switch (cmd.op) {
      case 'create':
        await hangar.newModel({ namespace: ns, name: cmd.model, task: cmd.task });
        return;
      case 'version':
        await (await find()).newVersion(cmd.label ? { version: cmd.label } : {});
        return;
      case 'metric': {
        const m = await find();
        const versions = await m.versions();
        const parent = cmd.onVersion && versions.length ? versions[versions.length - 1]! : m;
        await parent.logMetrics({ score: cmd.value });
        await hangar.flush();
        // The point this wrote: the newest of its parent, by id.
        const points = await parentPoints(hangar.db, parent.id);
        for (const p of points) logged.add(`${cmd.model}|${p.id}`);
        return;
      }
      case 'metadata':
        await (await find()).updateMetadata(cmd.key, cmd.value);
        return;
      case 'describe':
        await (await find()).update({ description: cmd.text });
        return;
      case 'alias': {
        const m = await find();
        const versions = await m.versions();
        if (!versions.length) return;
        await m.setAlias('prod', versions[cmd.pick % versions.length]!);
        return;
      }
      case 'delete':
        await (await find()).delete();
        return;
    }
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (['model-not-found', 'model-exists', 'version-label-taken', 'version-not-found'].includes(code ?? '')) return;
    throw err;
  }
}

describe('sync property: any interleaving converges', () => {
  it(`three registries, random writes, random syncs with lost requests and answers (${RUNS} runs)`, async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(command, { minLength: 5, maxLength: 50 }), async (generated) => {
        const commands = [...PREAMBLE, ...generated];
        const ns = `prop-${Date.now().toString(36)}-${++runs}`;
        const token = await server.token(ns, 'write');
        const clients = await Promise.all([0, 1, 2].map(() => syncedRegistry(server, token, [ns])));
        const logged = new Set<string>();
        const deleted = new Set(commands.flatMap((c) => (c.op === 'delete' ? [c.model] : [])));
        try {
          for (const cmd of commands) {
            const { hangar, net } = clients[cmd.c]!;
            if (cmd.op === 'offline') net.offline = cmd.offline;
            else if (cmd.op === 'sync') {
              net.next = [...cmd.faults];
              await hangar.syncNow().catch(() => undefined);
              net.next = [];
            } else await run(hangar, ns, cmd, logged);
          }
          // Back online, no more faults: two full rounds each, and every replica has all.
          for (const { net } of clients) Object.assign(net, { offline: false, next: [] });
          for (let round = 0; round < 2; round++) for (const { hangar } of clients) await hangar.syncNow();

          const views = await Promise.all(clients.map(({ hangar }) => snapshot(hangar, ns)));
          expect(views[1]).toEqual(views[0]);
          expect(views[2]).toEqual(views[0]);
          for (const { hangar } of clients) expect(await hangar.pendingMutations()).toBe(0);

          // The replicas equal the server, and nothing acknowledged is missing or doubled.
          const listed = (await (await server.api(`/namespaces/${ns}/models?pageSize=100`)).json()) as { items: { name: string; id: string; description: string | null; aliases: Record<string, number> }[] };
          expect(listed.items.map((m) => m.name).sort()).toEqual(Object.keys(views[0]!).sort());
          for (const m of listed.items) {
            const local = views[0]![m.name] as { fields: { description: string | null }; versions: { id: string; number: number }[]; points: string[] };
            expect(local.fields.description).toBe(m.description);
            const versions = (await (await server.api(`/namespaces/${ns}/models/${m.name}/versions?pageSize=100`)).json()) as { items: { id: string; number: number }[] };
            expect(versions.items.map((v) => [v.id, v.number]).sort()).toEqual(local.versions.map((v) => [v.id, v.number]).sort());
            const parents = [{ id: m.id, path: '' }, ...versions.items.map((v) => ({ id: v.id, path: `/versions/${v.number}` }))];
            // The server holds each point the replicas hold, once.
            let onServer = 0;
            for (const p of parents) {
              const summary = (await (await server.api(`/namespaces/${ns}/models/${m.name}${p.path}/metrics`)).json()) as { metrics: Record<string, { count: number }> };
              onServer += summary.metrics.score?.count ?? 0;
            }
            expect(onServer).toBe(local.points.length);
            // A model nobody deleted keeps every point any device logged on it.
            if (!deleted.has(m.name)) {
              const acknowledged = [...logged].filter((x) => x.startsWith(`${m.name}|`)).map((x) => x.slice(m.name.length + 1));
              expect(local.points).toEqual(expect.arrayContaining(acknowledged));
            }
          }
        } finally {
          await Promise.all(clients.map(({ hangar }) => hangar.close()));
        }
      }),
      // HANGAR_SYNC_SEED (and HANGAR_SYNC_PATH) replay a failure that fast-check printed.
      { numRuns: RUNS, verbose: 1, ...(process.env.HANGAR_SYNC_SEED ? { seed: Number(process.env.HANGAR_SYNC_SEED), path: process.env.HANGAR_SYNC_PATH } : {}) },
    );
  });
});
