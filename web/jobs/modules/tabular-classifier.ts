import { ErrorCode, HangarError } from '../../../shared/errors.ts';
import { tabularModule, type TabularHead } from './tabular.ts';

/** Labels in a stable order: numbers ascending, then text in code-point order. */
function sortLabels(labels: (string | number)[]): (string | number)[] {
  return labels.sort((a, b) =>
    typeof a === typeof b ? (a < b ? -1 : a > b ? 1 : 0) : typeof a === 'number' ? -1 : 1,
  );
}

/** A label's key: `1` and `"1"` are one class (a CSV and JSON rows may spell it either way). */
const key = (label: string | number) => String(label);

const classification: TabularHead = {
  fitTarget(dataset) {
    // Every label of the data, held-out rows included: the network needs a unit for each.
    const seen = new Map<string, string | number>();
    for (const label of dataset.y) if (!seen.has(key(label))) seen.set(key(label), label);
    if (seen.size < 2) {
      throw new HangarError(ErrorCode.InvalidDataset, `The target "${dataset.target}" needs at least two classes; it has ${seen.size}.`, {
        target: dataset.target,
        classes: [...seen.values()],
      });
    }
    return { labels: sortLabels([...seen.values()]) };
  },
  units: (prep) => prep.labels!.length,
  activation: 'softmax',
  loss: 'categoricalCrossentropy',
  metrics: ['accuracy'],
  encode(prep, y) {
    const labels = prep.labels!;
    const index = new Map(labels.map((label, i) => [key(label), i]));
    const out = new Float32Array(y.length * labels.length);
    y.forEach((label, row) => {
      const i = index.get(key(label));
      if (i === undefined) {
        throw new HangarError(ErrorCode.InvalidDataset, `The label ${JSON.stringify(label)} is not one the checkpoint knows (${labels.join(', ')}).`, {
          label,
          labels,
        });
      }
      out[row * labels.length + i] = 1;
    });
    return out;
  },
  report(_prep, logs) {
    // tfjs names the accuracy metric `acc`.
    const names: Record<string, string> = { acc: 'accuracy', val_acc: 'val_accuracy' };
    return Object.fromEntries(Object.entries(logs).map(([k, v]) => [names[k] ?? k, v]));
  },
  decode(prep, output, rows) {
    const labels = prep.labels!;
    const predictions: (string | number)[] = [];
    const probabilities: number[][] = [];
    for (let r = 0; r < rows; r++) {
      const p = Array.from(output.subarray(r * labels.length, (r + 1) * labels.length));
      let best = 0;
      for (let i = 1; i < p.length; i++) if (p[i]! > p[best]!) best = i;
      predictions.push(labels[best]!);
      probabilities.push(p);
    }
    return { predictions, probabilities };
  },
};

/** A dense classifier for tabular data: rows of numeric features → a class label and each class's probability. */
export const tabularClassifier = tabularModule('tabular-classifier', classification);
