import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { parseHlc } from '../../shared/hlc.ts';
import { startServer, type HangarServer } from '../browser/server.ts';
import { syncedRegistry } from './clients.ts';

// Two devices in one process: the device clock is Date, faked per step to run a day fast or a
// day slow while that device works. Timers stay real, and the server (wrangler) keeps true time.
const DAY = 24 * 3600 * 1000;
const realNow = () => performance.timeOrigin + performance.now();
const as = (skewMs: number) => vi.setSystemTime(realNow() + skewMs);

let server: HangarServer;
let token: string;
beforeAll(async () => {
  server = await startServer();
  token = await server.token('team', 'write');
});
afterAll(() => server?.close());
afterEach(() => {
  vi.useRealTimers();
});

describe('devices whose clocks are a day off (DESIGN §3, clocks)', () => {
  it('a day fast and a day slow: edits order by when they happened, and both keep syncing', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    as(DAY);
    const fast = await syncedRegistry(server, token, ['team']);
    // Made offline before the device ever heard the server's time: stamped a day ahead.
    fast.net.offline = true;
    const m = await fast.hangar.newModel({ namespace: 'team', name: 'skewed', description: 'fast-1' });
    await m.updateMetadata('owner', 'fast');
    fast.net.offline = false;
    await fast.hangar.syncNow();

    as(-DAY);
    const slow = await syncedRegistry(server, token, ['team']);
    await slow.hangar.syncNow();
    expect((await slow.hangar.model('team', 'skewed')).description).toBe('fast-1');
    // Later in real time, though its clock reads two days earlier than the other's.
    await (await slow.hangar.model('team', 'skewed')).update({ description: 'slow-1' });
    await (await slow.hangar.model('team', 'skewed')).updateMetadata('owner', 'slow');
    await slow.hangar.syncNow();

    as(DAY);
    await fast.hangar.syncNow();
    const onFast = await fast.hangar.model('team', 'skewed');
    expect([onFast.description, await onFast.metadata()]).toEqual(['slow-1', { owner: 'slow' }]);
    await onFast.update({ description: 'fast-2' });
    await fast.hangar.syncNow();

    as(-DAY);
    await slow.hangar.syncNow();
    expect((await slow.hangar.model('team', 'skewed')).description).toBe('fast-2');

    // A plain HTTP edit made after both wins too: neither device's clock beats it.
    const patched = await server.api('/namespaces/team/models/skewed', { method: 'PATCH', json: { description: 'rest' } });
    expect(patched.status).toBe(200);
    await slow.hangar.syncNow();
    as(DAY);
    await fast.hangar.syncNow();
    expect((await fast.hangar.model('team', 'skewed')).description).toBe('rest');
    as(-DAY);
    expect((await slow.hangar.model('team', 'skewed')).description).toBe('rest');

    for (const d of [fast, slow]) {
      expect(d.hangar.syncStatus.value).toMatchObject({ pendingMutations: 0, error: null, conflicts: 0 });
      expect(await d.hangar.conflicts()).toEqual([]);
    }
    // Every clock the fast device stored is within minutes of true time.
    const clocks = (await fast.hangar.db.models.toArray()).flatMap((r) => Object.values(r.clocks));
    for (const c of clocks) expect(Math.abs(parseHlc(c)!.ms - realNow())).toBeLessThan(10 * 60_000);
    vi.useRealTimers();
    await fast.hangar.close();
    await slow.hangar.close();
  });
});
