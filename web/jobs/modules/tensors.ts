import { ErrorCode, HangarError } from '../../../shared/errors.ts';
import type { PredictInput, TensorSpec } from '../protocol.ts';

export type { TensorSpec };

/** One named tensor as it crosses the worker boundary. */
export type TensorData = { data: Float32Array | Int32Array; shape: number[] };

/**
 * The input tensors in the model's input order, checked: every input named (a model with one
 * input takes one tensor under any name), no extra names, data as long as its shape says.
 */
export function namedInputs(input: PredictInput, inputNames: readonly string[], module: string): TensorData[] {
  if (!('tensors' in input) || input.tensors === null || typeof input.tensors !== 'object') {
    throw new HangarError(ErrorCode.InvalidArgument, `A ${module} model predicts from named tensors ({ tensors: { name: { data, shape } } }), not rows.`, {
      inputs: inputNames,
    });
  }
  const given = Object.keys(input.tensors);
  const byName = (name: string) => input.tensors[name] ?? input.tensors[name.replace(/:0$/, '')] ?? input.tensors[`${name}:0`];
  const tensors =
    inputNames.length === 1 && given.length === 1 ? [input.tensors[given[0]!]!] : inputNames.map((name) => byName(name));
  const missing = inputNames.filter((_, i) => !tensors[i]);
  const extra = given.filter((g) => !inputNames.some((name) => name === g || name.replace(/:0$/, '') === g || `${name}:0` === g));
  if (missing.length > 0 || (inputNames.length !== 1 && extra.length > 0)) {
    throw new HangarError(ErrorCode.InvalidArgument, `The model takes the inputs ${inputNames.join(', ')}; given ${given.join(', ') || 'none'}.`, {
      inputs: inputNames,
      given,
    });
  }
  tensors.forEach((t, i) => {
    const size = Array.isArray(t?.shape) ? t.shape.reduce((a, b) => a * b, 1) : Number.NaN;
    if (!(t!.data instanceof Float32Array || t!.data instanceof Int32Array) || size !== t!.data.length) {
      throw new HangarError(ErrorCode.InvalidArgument, `The input ${inputNames[i]} needs a Float32Array or Int32Array as long as its shape says.`, {
        input: inputNames[i],
        shape: t?.shape,
        length: (t?.data as { length?: number } | undefined)?.length,
      });
    }
  });
  return tensors as TensorData[];
}

/** A typed array Hangar can hand back: float data as Float32Array, integer and boolean data as Int32Array. */
export function toOutputArray(data: ArrayLike<number | bigint | boolean>, dtype: string): Float32Array | Int32Array {
  if (/^float|^double/.test(dtype)) return data instanceof Float32Array ? data.slice() : Float32Array.from(data as ArrayLike<number>, Number);
  if (data instanceof Int32Array) return data.slice();
  return Int32Array.from(data as ArrayLike<number>, Number);
}
