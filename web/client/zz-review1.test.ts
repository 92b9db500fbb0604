import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import { openRegistry } from './index.ts';

let n = 0;
const reg = (name = `zz${n++}-${Math.random()}`) => openRegistry({ name, persist: false });
const code = async (p: Promise<unknown>) => p.then(() => 'ok', (e) => e?.code ?? String(e));

describe('review', () => {
  it('setAlias with another model\'s version handle', async () => {
    const h = await reg();
    const a = await h.newModel({ namespace: 'team', name: 'a' });
    const b = await h.newModel({ namespace: 'team', name: 'b' });
    const va = await a.newVersion();
    const vb = await b.newVersion();
    const r = await code(a.setAlias('production', vb));
    const target = await h.find('team/a@production').then((v) => v.id, (e) => e.code);
    console.log('cross-model setAlias:', r, 'a@production ->', target === va.id ? "a's v1" : target);
  });

  it('writes to a deleted version / model', async () => {
    const h = await reg();
    const m = await h.newModel({ namespace: 'team', name: 'c' });
    const v = await m.newVersion();
    await v.delete();
    const before = await h.db.outbox.count();
    const r1 = await code(v.updateMetadata('k', 1));
    const r2 = await code(v.logMetrics({ loss: 1 }));
    const r3 = await code(v.uploadArtifacts([{ file: new Blob(['x']), path: 'a.txt' }]));
    const r4 = await code(v.trackArtifacts([{ path: 'b.txt', url: 'https://x.test/b' }]));
    await m.delete();
    const r5 = await code(m.updateMetadata('k', 1));
    const r6 = await code(m.logMetrics({ loss: 1 }));
    console.log('writes on deleted:', { r1, r2, r3, r4, r5, r6, outboxDelta: (await h.db.outbox.count()) - before });
  });

  it('delete model then re-create: old state leaks', async () => {
    const h = await reg();
    let m = await h.newModel({ namespace: 'team', name: 'd' });
    await m.updateMetadata('old', 1);
    await m.logMetrics({ loss: 5 });
    await h.flush();
    await m.uploadArtifacts([{ file: new Blob(['old']), path: 'w.bin' }]);
    await m.delete();
    m = await h.newModel({ namespace: 'team', name: 'd' });
    console.log('recreated:', await m.metadata(), await m.metrics(), (await m.artifacts()).map((a) => a.path));
    console.log('upload same path new bytes:', await code(m.uploadArtifacts([{ file: new Blob(['new']), path: 'w.bin' }])));
  });

  it('delete model then import the backup', async () => {
    const h = await reg();
    const m = await h.newModel({ namespace: 'team', name: 'e' });
    const v = await m.newVersion();
    await v.updateMetadata('k', 1);
    await m.setAlias('production', v);
    const archive = await h.exportModel('team', 'e');
    await m.delete();
    console.log('import:', await code(h.importModel(archive)));
    const back = await h.model('team', 'e');
    console.log('after restore versions:', (await back.versions()).length, 'find:', await code(h.find('team/e@production')));
  });

  it('logMetrics with bad values', async () => {
    const h = await reg();
    const m = await h.newModel({ namespace: 'team', name: 'f' });
    console.log('Infinity:', await code(m.logMetrics({ loss: Infinity })));
    console.log('NaN:', await code(m.logMetrics({ loss: NaN })));
    console.log('-0 step -1:', await code(m.logMetrics({ loss: 1 }, { step: -1 })));
    console.log('step 1.5:', await code(m.logMetrics({ loss: 1 }, { step: 1.5 })));
    console.log('values null:', await code(m.logMetrics(null as never)));
    console.log('empty key:', await code(m.logMetrics({ '': 1 })));
    await h.flush();
    console.log('stored:', await m.metrics());
  });

  it('models() limit/namespace', async () => {
    const h = await reg();
    await h.newModel({ namespace: 'team', name: 'g1' });
    await h.newModel({ namespace: 'team', name: 'g2' });
    console.log('limit -1:', (await h.models({ limit: -1 })).map((m) => m.name));
    console.log('limit 1.5:', await code(h.models({ limit: 1.5 })));
    console.log('limit 100000:', await code(h.models({ limit: 100000 })));
    console.log('namespace BAD:', await code(h.models({ namespace: 'BAD NS' })));
    console.log('orderBy junk:', await code(h.models({ orderBy: 'name ASC; drop' })));
    console.log('bad filter:', await code(h.models({ filter: 'nonsense ===' })));
    console.log('hangar.model bad:', await code(h.model('BAD', '../x')));
    console.log('find bad:', await code(h.find('nope')));
  });

  it('flush after a failed batch keeps rejecting', async () => {
    const h = await reg();
    const m = await h.newModel({ namespace: 'team', name: 'h' });
    // make the metrics table fail: close db? simulate with a bogus write through db hook
    const hook = (h.db.metrics.hook('creating', () => { throw new Error('boom'); }));
    const r = await code(m.logMetrics({ loss: 1 }));
    h.db.metrics.hook('creating').unsubscribe(hook as never);
    console.log('failed log:', r, 'then flush with nothing pending:', await code(h.flush()));
  });
});
