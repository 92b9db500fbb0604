import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseHlc } from '../../shared/hlc.ts';
import { startServer, type HangarServer } from '../browser/server.ts';
import { syncedRegistry } from './clients.ts';

// Two devices in one process, each registry with its own device clock (`openRegistry({ now })`):
// one runs a day fast, one a day slow. The server (wrangler) keeps true time.
const DAY = 24 * 3600 * 1000;

let server: HangarServer;
let token: string;
beforeAll(async () => {
  server = await startServer();
  token = await server.token('team', 'write');
});
afterAll(() => server?.close());

describe('devices whose clocks are a day off (DESIGN §3, clocks)', () => {
  it('a day fast and a day slow: edits order by when they happened, and both keep syncing', async () => {
    const fast = await syncedRegistry(server, token, ['team'], { now: () => Date.now() + DAY });
    // Made offline before the device ever heard the server's time: stamped a day ahead.
    fast.net.offline = true;
    const m = await fast.hangar.newModel({ namespace: 'team', name: 'skewed', description: 'fast-1' });
    await m.updateMetadata('owner', 'fast');
    fast.net.offline = false;
    await fast.hangar.syncNow();

    const slow = await syncedRegistry(server, token, ['team'], { now: () => Date.now() - DAY });
    await slow.hangar.syncNow();
    expect((await slow.hangar.model('team', 'skewed')).description).toBe('fast-1');
    // Later in real time, though its clock reads two days earlier than the other's.
    await (await slow.hangar.model('team', 'skewed')).update({ description: 'slow-1' });
    await (await slow.hangar.model('team', 'skewed')).updateMetadata('owner', 'slow');
    await slow.hangar.syncNow();

    await fast.hangar.syncNow();
    const onFast = await fast.hangar.model('team', 'skewed');
    expect([onFast.description, await onFast.metadata()]).toEqual(['slow-1', { owner: 'slow' }]);
    await onFast.update({ description: 'fast-2' });
    await fast.hangar.syncNow();

    await slow.hangar.syncNow();
    expect((await slow.hangar.model('team', 'skewed')).description).toBe('fast-2');

    // A plain HTTP edit made after both wins too: neither device's clock beats it.
    const patched = await server.api('/namespaces/team/models/skewed', { method: 'PATCH', json: { description: 'rest' } });
    expect(patched.status).toBe(200);
    await slow.hangar.syncNow();
    await fast.hangar.syncNow();
    expect((await fast.hangar.model('team', 'skewed')).description).toBe('rest');
    expect((await slow.hangar.model('team', 'skewed')).description).toBe('rest');

    for (const d of [fast, slow]) {
      expect(d.hangar.syncStatus.value).toMatchObject({ pendingMutations: 0, error: null, conflicts: 0 });
      expect(await d.hangar.conflicts()).toEqual([]);
    }
    // Each learned its correction, kept for the next reload.
    const offsets = await Promise.all([fast, slow].map(async (d) => (await d.hangar.db.state.get('sync.offsetMs'))?.value as number));
    expect(offsets.map((o) => Math.round(o / 60_000))).toEqual([-24 * 60, 24 * 60]);
    // Every clock the fast device stored is within minutes of true time.
    const clocks = (await fast.hangar.db.models.toArray()).flatMap((r) => Object.values(r.clocks));
    for (const c of clocks) expect(Math.abs(parseHlc(c)!.ms - Date.now())).toBeLessThan(10 * 60_000);
    await fast.hangar.close();
    await slow.hangar.close();
  });
});
