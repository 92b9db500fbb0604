import type * as Ort from 'onnxruntime-web';
import { ErrorCode, HangarError } from '../../../shared/errors.ts';
import { DEFAULT_BACKENDS, type Backend, type ModelFiles, type PredictInput, type PredictOutput } from '../protocol.ts';
import { createOrtSession, supported } from './backends.ts';
import type { LoadedModel, Module } from './module.ts';
import { namedInputs, toOutputArray, type TensorData, type TensorSpec } from './tensors.ts';

const ID = 'onnx-import';
/** The execution providers Hangar runs ONNX models on, best first: the ONNX defaults (a copy: the default is the page's to change). */
const BACKENDS: readonly Backend[] = Object.freeze([...DEFAULT_BACKENDS.onnx]);
/** The model file's usual name among an imported model's files. */
export const MODEL_ONNX = 'model.onnx';

/** The `.onnx` file among the files: `model.onnx`, or the only `.onnx` file. */
function modelFile(files: ModelFiles): Blob {
  const paths = Object.keys(files);
  const onnx = paths.filter((p) => p.toLowerCase().endsWith('.onnx'));
  const path = files[MODEL_ONNX] ? MODEL_ONNX : onnx.length === 1 ? onnx[0]! : undefined;
  const blob = path === undefined ? undefined : files[path];
  if (!(blob instanceof Blob)) {
    throw new HangarError(ErrorCode.InvalidModelFile, `No ${MODEL_ONNX} among the files (${paths.join(', ') || 'none'}).`, { files: paths });
  }
  return blob;
}

const spec = (m: Ort.InferenceSession.ValueMetadata): TensorSpec => ({
  name: m.name,
  dtype: m.isTensor ? m.type : 'non-tensor',
  ...(m.isTensor && { shape: [...m.shape] }),
});

/** A feed tensor of the type the model declares: int64 inputs take Int32Array data, widened. */
function feed(ort: typeof Ort, t: TensorData, declared: string | undefined): Ort.Tensor {
  const dims = t.shape;
  if (declared === 'int64') return new ort.Tensor('int64', BigInt64Array.from(t.data, (v) => BigInt(Math.trunc(v))), dims);
  if (declared === 'float32' && t.data instanceof Int32Array) return new ort.Tensor('float32', Float32Array.from(t.data), dims);
  if (declared === 'int32' && t.data instanceof Float32Array) return new ort.Tensor('int32', Int32Array.from(t.data, Math.trunc), dims);
  return t.data instanceof Int32Array ? new ort.Tensor('int32', t.data, dims) : new ort.Tensor('float32', t.data, dims);
}

/** Imports an ONNX model (`model.onnx`) and runs it with ONNX Runtime Web on named tensors. */
export const onnxImport: Module = {
  id: ID,
  framework: 'onnx',
  backends: BACKENDS,
  async load(files: ModelFiles, backends: Backend[]): Promise<LoadedModel> {
    const usable = supported(backends, BACKENDS, ID);
    const bytes = new Uint8Array(await modelFile(files).arrayBuffer());
    const { session, backend, skipped, ort } = await createOrtSession(bytes, usable);
    const inputs = session.inputMetadata.map(spec);
    const outputs = session.outputMetadata.map(spec);
    return {
      backend,
      ...(skipped.length > 0 && { skipped }),
      inputs,
      outputs,
      async predict(input: PredictInput): Promise<PredictOutput> {
        const given = namedInputs(input, session.inputNames, ID);
        const feeds = Object.fromEntries(session.inputNames.map((name, i) => [name, feed(ort, given[i]!, inputs[i]?.dtype)]));
        let results: Ort.InferenceSession.ReturnType;
        try {
          results = await session.run(feeds);
        } catch (err) {
          throw new HangarError(ErrorCode.InvalidArgument, `The model cannot run on these inputs: ${(err as Error).message}`, {
            inputs,
          });
        }
        const tensors: Record<string, TensorData> = {};
        for (const name of session.outputNames) {
          const value = results[name] as Ort.Tensor;
          try {
            const data = (await value.getData()) as ArrayLike<number | bigint | boolean>;
            tensors[name] = { data: toOutputArray(data, value.type), shape: [...value.dims] };
          } finally {
            value.dispose();
          }
        }
        // A session runs on the execution provider it was created with.
        return { tensors, backend };
      },
      dispose: () => void session.release(),
    };
  },
};
