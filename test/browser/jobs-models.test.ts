import { describe, expect } from 'vitest';
import { expectNoPageErrors, test } from './browser.ts';
import { JOBS_PAGE, workersOf } from './fixtures/jobs-tests.ts';

// Predictions and imported models in real Chromium: the LOCAL predictor with the real module Web
// Worker (web/jobs/predict.worker.ts), the hangar:// tfjs routers with a model built in the page,
// and bad input. Training jobs: jobs.test.ts.
describe('predictions and imported models in the browser', () => {
  test('predicts with the local predictor exactly as the same files loaded directly', async ({ browser }) => {
    const page = await browser.newPage(JOBS_PAGE);
    const out = await page.evaluate(async () => {
      const hangar = await window.openRegistry({ name: 'predict' });
      const version = await hangar
        .trainer('local')
        .train('tabular-classifier', { data: await window.jobsKit.iris(), target: 'species', params: { epochs: 8 }, saveAs: { namespace: 'team', model: 'iris' }, backends: ['cpu'] })
        .result();
      await (await hangar.model('team', 'iris')).setAlias('production', version);
      const rows = window.jobsKit.rowsOf(await (await window.jobsKit.iris()).text()).filter((_, i) => i % 10 === 0);
      for (const row of rows) delete row.species;
      const viaJob = await hangar.predictor('local').predict('team/iris@production', rows).result();
      const again = hangar.predictor('local').predict('team/iris@production', rows);
      const cached = await again.result();
      const files: Record<string, Blob> = {};
      for (const a of (await version.artifacts()).filter((a) => a.path.startsWith('model/'))) files[a.path.slice('model/'.length)] = await version.readArtifact(a.path);
      const info = await again.info();
      // The same backend, so the same arithmetic.
      const direct = await window.jobsKit.predictDirect('tabular-classifier', files, { rows }, [info.backend!]);
      // Predictions are kept in memory only: the training job has the only record.
      const stored = (await hangar.db.jobs.toArray()).map((r) => r.type);
      const listed = (await hangar.jobs()).map((j) => [j.id === again.id, j.type, j.status]);
      // The alias moved to a copy of the version, here, then back by another tab: each next prediction follows it.
      const model = await hangar.model('team', 'iris');
      const copy = await model.newVersion({ framework: 'tfjs', metadata: { module: 'tabular-classifier' } });
      await copy.uploadArtifacts(Object.entries(files).map(([name, file]) => ({ file, path: `model/${name}`, fileType: 'MODEL' as const })));
      await model.setAlias('production', copy);
      const moved = hangar.predictor('local').predict('team/iris@production', rows);
      const movedOut = await moved.result();
      const otherTab = await window.openRegistry({ name: 'predict' });
      await (await otherTab.model('team', 'iris')).setAlias('production', version);
      await otherTab.close();
      const back = hangar.predictor('local').predict('team/iris@production', rows);
      const backOut = await back.result();
      const follows = { moved: (await moved.info()).versionId === copy.id, back: (await back.info()).versionId === version.id, same: [movedOut, backOut] };
      return { viaJob, cached, direct, info, versionId: version.id, rows: rows.length, stored, listed, follows };
    });
    expect(out.viaJob).toEqual(out.direct);
    expect(out.cached).toEqual(out.direct);
    expect((out.viaJob as { predictions: string[] }).predictions).toHaveLength(out.rows);
    expect(out.info).toMatchObject({ type: 'predict', status: 'completed', module: 'tabular-classifier', versionId: out.versionId });
    expect(out.stored).toEqual(['train']);
    expect(out.follows).toEqual({ moved: true, back: true, same: [out.direct, out.direct] });
    expect(out.listed).toEqual([
      [true, 'predict', 'completed'],
      [false, 'predict', 'completed'],
      [false, 'train', 'completed'],
    ]);
    expectNoPageErrors(page);
  });

  test('saves a tfjs model to hangar:// and loads it back, offline, with the same outputs', async ({ browser }) => {
    const page = await browser.newPage(JOBS_PAGE);
    await page.evaluate(async () => {
      await window.jobsKit.tf();
    });
    // Everything from here on runs on the registry alone.
    await browser.context.setOffline(true);
    const out = await page.evaluate(async () => {
      const hangar = await window.openRegistry({ name: 'routers' });
      const { tf, tfl } = await window.jobsKit.tf();
      window.hangar!.registerHangarRouters(tf.io, hangar);
      const model = tfl.sequential({ layers: [tfl.layers.dense({ units: 4, inputShape: [3], activation: 'relu' }), tfl.layers.dense({ units: 2, activation: 'softmax' })] });
      const x = tf.tensor2d([
        [0.1, 0.2, 0.3],
        [1, -1, 0.5],
      ]);
      const before = Array.from(await (model.predict(x) as typeof x).data());
      const saved = await model.save('hangar://team/tiny@production');
      const version = await hangar.find('team/tiny@production');
      const loaded = await tfl.loadLayersModel('hangar://team/tiny@production');
      const after = Array.from(await (loaded.predict(x) as typeof x).data());
      return {
        before,
        after,
        bytes: saved.modelArtifactsInfo.weightDataBytes,
        version: { number: version.number, framework: version.framework, module: (await version.metadata()).module },
        files: (await version.artifacts()).map((a) => [a.path, a.fileType]),
        badSave: await window.jobsKit.failure(() => model.save('hangar://team/tiny/7')),
      };
    });
    await browser.context.setOffline(false);
    expect(out.after).toEqual(out.before);
    expect(out.bytes).toBe((3 * 4 + 4 + 4 * 2 + 2) * 4);
    expect(out.version).toEqual({ number: 1, framework: 'tfjs', module: 'tfjs-import' });
    expect(out.files).toEqual([
      ['model/model.json', 'MODEL'],
      ['model/weights.bin', 'MODEL'],
    ]);
    expect(out.badSave?.code).toBe('invalid-argument');
    expectNoPageErrors(page);
  });

  test('loads from hangar:// a model.json deeper under model/ with weights relative to it; one that is not JSON is invalid-model-file', async ({ browser }) => {
    const page = await browser.newPage(JOBS_PAGE);
    const out = await page.evaluate(async () => {
      const hangar = await window.openRegistry({ name: 'nested' });
      const { tf, tfl } = await window.jobsKit.tf();
      window.hangar!.registerHangarRouters(tf.io, hangar);
      const model = tfl.sequential({ layers: [tfl.layers.dense({ units: 2, inputShape: [3], activation: 'softmax' })] });
      const x = tf.tensor2d([[0.1, 0.2, 0.3]]);
      const before = Array.from(await (model.predict(x) as typeof x).data());
      // As tfjs-converter lays a model out: a folder with model.json, its shards named relative to it.
      let files: Record<string, Blob> = {};
      await model.save(
        tf.io.withSaveHandler(async (artifacts) => {
          const { modelTopology, format, weightSpecs, weightData } = artifacts;
          const json = { modelTopology, format, weightsManifest: [{ paths: ['./shards/group1-shard1of1.bin'], weights: weightSpecs }] };
          const shard = new Blob(Array.isArray(weightData) ? weightData : [weightData!]);
          files = { 'web_model/model.json': new Blob([JSON.stringify(json)]), 'web_model/shards/group1-shard1of1.bin': shard };
          return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
        }),
      );
      await hangar.importModelFiles({ namespace: 'team', model: 'nested', module: 'tfjs-import', files });
      const loaded = await tfl.loadLayersModel('hangar://team/nested');
      const after = Array.from(await (loaded.predict(x) as typeof x).data());
      await hangar.importModelFiles({ namespace: 'team', model: 'broken', module: 'tfjs-import', files: { 'model.json': new Blob(['{ not json']) } });
      return { before, after, broken: await window.jobsKit.failure(() => tfl.loadLayersModel('hangar://team/broken')) };
    });
    expect(out.after).toEqual(out.before);
    expect(out.broken).toMatchObject({ name: 'HangarError', code: 'invalid-model-file' });
    expectNoPageErrors(page);
  });

  test('bad input: a module that cannot train errors the job at once, making no model; an unknown trainer type or a bad reference fails the call', async ({ browser }) => {
    const page = await browser.newPage(JOBS_PAGE);
    const out = await page.evaluate(async () => {
      const hangar = await window.openRegistry({ name: 'bad-input' });
      const job = hangar.trainer('local').train('no-such-module', { data: [{ a: 1, b: 'x' }], target: 'b', saveAs: { namespace: 'team', model: 'bad' } });
      const info = await job.wait();
      const importOnly = hangar.trainer('local').train('tfjs-import', { data: [{ a: 1, b: 'x' }], target: 'b', saveAs: { namespace: 'team', model: 'bad' } });
      const predictMissing = hangar.predictor('local').predict('team/ghost@production', [{ a: 1 }]);
      return {
        info,
        result: await window.jobsKit.failure(() => job.result()),
        importOnly: { info: await importOnly.wait(), result: await window.jobsKit.failure(() => importOnly.result()) },
        model: await window.jobsKit.failure(() => hangar.model('team', 'bad')),
        badImport: await window.jobsKit.failure(() => hangar.importModelFiles({ namespace: 'team', model: 'bad', module: 'no-such-module', files: { 'model.json': new Blob(['{}']) } })),
        unknownTrainer: await window.jobsKit.failure(() => hangar.trainer('nope')),
        badRef: await window.jobsKit.failure(() => hangar.predictor('local').predict('not a ref', [])),
        missing: { failure: await window.jobsKit.failure(() => predictMissing.result()), status: (await predictMissing.info()).status },
      };
    });
    expect(out.info.status).toBe('errored');
    expect(out.info.error).toMatchObject({ code: 'unknown-module' });
    expect(out.result).toMatchObject({ name: 'HangarError', code: 'unknown-module' });
    expect(out.importOnly.info).toMatchObject({ status: 'errored', error: { code: 'invalid-argument' } });
    expect(out.importOnly.result?.code).toBe('invalid-argument');
    // Refused before anything was made: no model, so no version left failed.
    expect(out.model?.code).toBe('model-not-found');
    expect(out.badImport?.code).toBe('unknown-module');
    expect(out.unknownTrainer).toMatchObject({ code: 'invalid-argument' });
    expect(out.unknownTrainer?.message).toContain('"local"');
    expect(out.badRef).toMatchObject({ code: 'invalid-argument' });
    expect(out.missing).toEqual({ failure: expect.objectContaining({ code: 'model-not-found' }), status: 'errored' });
    expect(workersOf(page, 'train.worker')).toEqual([]);
    expectNoPageErrors(page);
  });
});
