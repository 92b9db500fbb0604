import 'fake-indexeddb/auto';
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, describe, expect, it } from 'vitest';
import { openRegistry, type Hangar } from './index.ts';
import { registerHangarRouters } from './tfjs-io.ts';
import { codeOf } from './test-helpers.ts';

let open: Hangar[] = [];
afterEach(async () => {
  await Promise.all(open.map((h) => h.close()));
  open = [];
});

const artifacts = (): tf.io.ModelArtifacts => ({
  modelTopology: { class_name: 'Sequential', config: { layers: [] } },
  format: 'layers-model',
  generatedBy: 'test',
  convertedBy: null,
  weightSpecs: [{ name: 'dense/kernel', shape: [2, 1], dtype: 'float32' }],
  weightData: new Float32Array([0.5, -1.5]).buffer,
});

// The real routers exercised through tfjs-core's own registry (no backend needed for IO);
// test/browser/jobs-models.test.ts saves and loads a real layers model with them.
describe('hangar:// tfjs routers', () => {
  it('saves a version with model/ files and loads it back, once registered however often', async () => {
    const h = await openRegistry({ name: 'tfjs-io', persist: false });
    open.push(h);
    registerHangarRouters(tf.io, h);
    registerHangarRouters(tf.io, h);
    expect(tf.io.getSaveHandlers('hangar://team/tiny@production')).toHaveLength(1);

    const saved = await tf.io.getSaveHandlers('hangar://team/tiny@production')[0]!.save!(artifacts());
    expect(saved.modelArtifactsInfo.weightDataBytes).toBe(8);
    const v = await h.find('team/tiny@production');
    expect(v).toMatchObject({ number: 1, framework: 'tfjs', status: 'ready' });
    expect((await v.metadata()).module).toBe('tfjs-import');
    expect((await v.artifacts()).map((a) => a.path)).toEqual(['model/model.json', 'model/weights.bin']);

    const loaded = await tf.io.getLoadHandlers('hangar://team/tiny@production')[0]!.load!();
    expect(loaded.modelTopology).toEqual(artifacts().modelTopology);
    expect(loaded.weightSpecs).toEqual(artifacts().weightSpecs);
    expect([...new Float32Array(loaded.weightData as ArrayBuffer)]).toEqual([0.5, -1.5]);

    await tf.io.getSaveHandlers('hangar://team/tiny')[0]!.save!(artifacts());
    expect((await h.find('team/tiny')).number).toBe(2);
    expect(await codeOf(tf.io.getSaveHandlers('hangar://team/tiny/3')[0]!.save!(artifacts()))).toBe('invalid-argument');
    expect(await codeOf(tf.io.getLoadHandlers('hangar://team/ghost')[0]!.load!())).toBe('model-not-found');
  });
});
