import { ErrorCode, HangarError } from '../../../shared/errors.ts';
import { toNumber } from '../csv.ts';
import { tabularModule, type TabularHead } from './tabular.ts';

function numericTarget(y: readonly (string | number)[], target: string): number[] {
  return y.map((value, row) => {
    const n = toNumber(value);
    if (n === undefined) {
      throw new HangarError(ErrorCode.InvalidDataset, `The target "${target}" must be numeric for a regressor; row ${row + 1} has ${JSON.stringify(value)}.`, {
        column: target,
        row,
        value,
      });
    }
    return n;
  });
}

const regression: TabularHead = {
  fitTarget(dataset, rows) {
    // The network learns the standardized target, which keeps the first steps of Adam sensible
    // whatever the target's units; predictions are scaled back.
    const y = numericTarget(dataset.y, dataset.target);
    const mean = rows.reduce((sum, r) => sum + y[r]!, 0) / rows.length;
    const variance = rows.reduce((sum, r) => sum + (y[r]! - mean) ** 2, 0) / rows.length;
    return { targetScaling: { mean, std: variance > 1e-12 ? Math.sqrt(variance) : 1 } };
  },
  units: () => 1,
  activation: 'linear',
  loss: 'meanSquaredError',
  metrics: [],
  encode(prep, y) {
    const { mean, std } = prep.targetScaling!;
    return Float32Array.from(numericTarget(y, prep.target), (v) => (v - mean) / std);
  },
  report(prep, logs) {
    // The loss is the MSE of the standardized target: times std² it is the MSE in the target's units.
    const { std } = prep.targetScaling!;
    return Object.fromEntries(Object.entries(logs).map(([k, v]) => [k, /loss$/.test(k) ? v * std * std : v]));
  },
  decode(prep, output) {
    const { mean, std } = prep.targetScaling!;
    return { predictions: Array.from(output, (v) => v * std + mean) };
  },
};

/** A dense regressor for tabular data: rows of numeric features → a number. */
export const tabularRegressor = tabularModule('tabular-regressor', regression);
