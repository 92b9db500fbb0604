import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { describe, expect, it } from 'vitest';
import { parseCsv } from '../csv.ts';
import type { ModelFiles } from '../protocol.ts';
import { tabularClassifier } from './tabular-classifier.ts';
import { tabularRegressor } from './tabular-regressor.ts';
import { PREPROCESSING_JSON, preprocessingFile, type PreprocessingV1, type PreprocessingV2 } from './tabular-data.ts';
import { saveModelFiles } from './tfjs-files.ts';

// Tabular models on tfjs's CPU backend in Node: a model saved in preprocessing format 1 (before
// format 2) loads and predicts as it did; format 2 trains from messy data and predicts from rows
// with gaps.

/** A format-1 classifier made by hand: class "big" exactly when a + b > 0 (after scaling). */
async function formatOneFiles(): Promise<ModelFiles> {
  await tf.setBackend('cpu');
  const model = tfl.sequential({ layers: [tfl.layers.dense({ units: 2, activation: 'softmax', inputShape: [2] })] });
  model.layers[0]!.setWeights([tf.tensor2d([[-5, 5], [-5, 5]]), tf.tensor1d([0, 0])]);
  const prep: PreprocessingV1 = {
    format: 1,
    module: 'tabular-classifier',
    features: ['a', 'b'],
    target: 'size',
    scaling: { method: 'standardize', mean: [10, 20], std: [2, 4] },
    labels: ['small', 'big'],
  };
  const files = { ...(await saveModelFiles(model)), [PREPROCESSING_JSON]: preprocessingFile(prep) };
  model.dispose();
  return files;
}

describe('tabular preprocessing formats', () => {
  it('a format-1 model loads and predicts as before, and refuses a missing feature as before', async () => {
    const loaded = await tabularClassifier.load(await formatOneFiles(), ['cpu']);
    try {
      const out = await loaded.predict({ rows: [{ a: 14, b: 24 }, { a: 6, b: '16' }] });
      expect(out).toMatchObject({ predictions: ['big', 'small'], backend: 'cpu' });
      expect('imputed' in out).toBe(false);
      await expect(loaded.predict({ rows: [{ a: 1 }] })).rejects.toMatchObject({ code: 'invalid-argument', message: expect.stringMatching(/no value.*"b"/) });
    } finally {
      loaded.dispose();
    }
  });

  it('format 2: trains on messy data, saves what it learned, and a reloaded model predicts rows with gaps and unseen categories', async () => {
    const lines = ['id,colour,x,flag,label'];
    for (let i = 0; i < 120; i++) {
      const colour = ['red', 'green', 'blue'][i % 3]!;
      const x = i % 5 === 0 ? 'NA' : String((i % 10) - 4.5);
      const label = colour === 'red' ? 'warm' : 'cool';
      lines.push(`${i + 1},${colour},${x},${i % 4 === 0 ? '' : i % 2 ? 'yes' : 'no'},${i === 7 ? '' : label}`);
    }
    lines.splice(30, 0, 'broken,row');
    const table = await parseCsv(lines.join('\n'));
    const progress: number[] = [];
    const trained = await tabularClassifier.train!({
      table,
      target: 'label',
      params: { epochs: 30, hidden: [8], learningRate: 0.05 },
      backends: ['cpu'],
      checkpointEvery: 0,
      onProgress: (p) => progress.push(p.epoch),
      onCheckpoint: async () => undefined,
    });
    trained.model.dispose();
    expect(progress).toHaveLength(30);
    expect(trained.metrics.val_accuracy).toBeGreaterThan(0.9);
    expect(trained.report).toMatchObject({ usedRows: 119, features: ['colour', 'x', 'flag'] });
    expect(trained.report!.dropped.map((d) => [d.reason, d.count])).toEqual([['malformed row', 1], ['missing target', 1]]);
    const prep = JSON.parse(await trained.files[PREPROCESSING_JSON]!.text()) as PreprocessingV2;
    expect(prep).toMatchObject({ format: 2, features: ['colour', 'x', 'flag'], labels: ['cool', 'warm'], decimalComma: false });
    expect(prep.columns[0]).toEqual({ name: 'colour', kind: 'categorical', vocabulary: expect.arrayContaining(['red', 'green', 'blue']), missingSlot: false });
    expect(prep.columns[1]).toMatchObject({ name: 'x', kind: 'numeric', missingFlag: true });

    const loaded = await tabularClassifier.load(trained.files, ['cpu']);
    try {
      const out = await loaded.predict({ rows: [{ colour: 'red', x: 1, flag: 'yes' }, { colour: 'purple' }, { colour: 'green', x: 'NA', flag: '' }] });
      expect(out).toMatchObject({ predictions: ['warm', expect.any(String), 'cool'] });
      expect('imputed' in out && out.imputed).toEqual([
        { row: 1, column: 'colour', reason: 'unseen category', used: 'other' },
        { row: 1, column: 'x', reason: 'missing', used: prep.columns[1]!.kind === 'numeric' ? prep.columns[1]!.median : NaN },
        { row: 1, column: 'flag', reason: 'missing', used: expect.any(Number) },
        { row: 2, column: 'x', reason: 'missing', used: expect.any(Number) },
        { row: 2, column: 'flag', reason: 'missing', used: expect.any(Number) },
      ]);
    } finally {
      loaded.dispose();
    }
  });

  it('a regressor refuses a categorical target, naming the column, before training', async () => {
    const table = await parseCsv('a,b,t\n1,2,lo\n2,3,hi\n3,1,lo\n');
    await expect(
      tabularRegressor.train!({ table, target: 't', params: { epochs: 1 }, backends: ['cpu'], checkpointEvery: 0, onProgress: () => undefined, onCheckpoint: async () => undefined }),
    ).rejects.toMatchObject({ code: 'invalid-dataset', message: expect.stringMatching(/"t" is not numeric/) });
  });
});
