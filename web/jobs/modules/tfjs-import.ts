import * as tf from '@tensorflow/tfjs-core';
import * as tfconv from '@tensorflow/tfjs-converter';
import * as tfl from '@tensorflow/tfjs-layers';
import { ErrorCode, HangarError } from '../../../shared/errors.ts';
import { DEFAULT_BACKENDS, type Backend, type ModelFiles, type PredictInput, type PredictOutput } from '../protocol.ts';
import { supported, switchTfjsBackend, tfjsTask, useTfjsBackend } from './backends.ts';
import type { LoadedModel, Module } from './module.ts';
import { namedInputs, toOutputArray, type TensorData, type TensorSpec } from './tensors.ts';
import { filesToArtifacts } from './tfjs-files.ts';

const ID = 'tfjs-import';
/** Every tfjs backend, best first (a copy: the default is the page's to change). */
const BACKENDS: readonly Backend[] = Object.freeze([...DEFAULT_BACKENDS.tfjs]);

/** The runnable part of either kind of tfjs model. */
interface Runner {
  inputs: TensorSpec[];
  outputs: TensorSpec[];
  run(inputs: tf.Tensor[]): Promise<tf.Tensor[]>;
  dispose(): void;
}

const isGraph = (json: tf.io.ModelJSON) =>
  json.format === 'graph-model' || (json.format !== 'layers-model' && Array.isArray((json.modelTopology as { node?: unknown }).node));

async function layersRunner(artifacts: tf.io.ModelArtifacts): Promise<Runner> {
  // Without its training config (a model saved with its optimizer has one) tfjs makes no
  // optimizer, whose variables `model.dispose()` would leave behind: this model only predicts.
  const model = await tfl.loadLayersModel(tf.io.fromMemory({ ...artifacts, trainingConfig: undefined }));
  try {
    // A Sequential model makes its inner model, which names its inputs and outputs, on first use.
    if (model instanceof tfl.Sequential && !model.built) model.build();
  } catch (err) {
    model.dispose();
    throw err;
  }
  return {
    inputs: model.inputs.map((t, i) => ({ name: model.inputNames[i]!, dtype: t.dtype, shape: t.shape })),
    outputs: model.outputs.map((t, i) => ({ name: model.outputNames[i]!, dtype: t.dtype, shape: t.shape })),
    run: async (inputs) => {
      const out = model.predict(inputs.length === 1 ? inputs[0]! : inputs);
      return Array.isArray(out) ? out : [out];
    },
    dispose: () => model.dispose(),
  };
}

async function graphRunner(artifacts: tf.io.ModelArtifacts): Promise<Runner> {
  const model = await tfconv.loadGraphModel(tf.io.fromMemory(artifacts));
  const spec = (t: { name: string; dtype: string; shape?: number[] }): TensorSpec => ({ name: t.name, dtype: t.dtype, ...(t.shape && { shape: t.shape }) });
  const inputs = model.inputs.map(spec);
  const outputs = model.outputs.map(spec);
  return {
    inputs,
    outputs,
    run: async (tensors) => {
      const feed = Object.fromEntries(inputs.map((s, i) => [s.name, tensors[i]!]));
      const names = outputs.map((s) => s.name);
      let out: tf.Tensor | tf.Tensor[];
      try {
        out = model.execute(feed, names);
      } catch (err) {
        // A model with control flow or dynamic shapes runs only asynchronously; tfjs says so.
        if (!/executeAsync/.test((err as Error).message)) throw err;
        out = await model.executeAsync(feed, names);
      }
      return Array.isArray(out) ? out : [out];
    },
    dispose: () => model.dispose(),
  };
}

/** Imports an existing tfjs model (layers or graph format: `model.json` and its weight shards) and runs it on named tensors. */
export const tfjsImport: Module = {
  id: ID,
  framework: 'tfjs',
  backends: BACKENDS,
  async load(files: ModelFiles, backends: Backend[]): Promise<LoadedModel> {
    const usable = supported(backends, BACKENDS, ID);
    return tfjsTask(() => load(files, usable));
  },
};

/** Loads the model on the first of `backends` that starts, inside a `tfjsTask`. */
async function load(files: ModelFiles, backends: Backend[]): Promise<LoadedModel> {
  const { backend, skipped } = await useTfjsBackend(backends);
  const { json, artifacts } = await filesToArtifacts(files);
  let runner: Runner;
  try {
    runner = isGraph(json) ? await graphRunner(artifacts) : await layersRunner(artifacts);
  } catch (err) {
    throw new HangarError(ErrorCode.InvalidModelFile, `The files do not load as a tfjs ${isGraph(json) ? 'graph' : 'layers'} model: ${(err as Error).message}`);
  }
  return {
    backend,
    ...(skipped.length > 0 && { skipped }),
    inputs: runner.inputs,
    outputs: runner.outputs,
    async predict(input: PredictInput): Promise<PredictOutput> {
      const given = namedInputs(input, runner.inputs.map((s) => s.name), ID);
      return tfjsTask(async () => {
        // Another model in this worker may have switched backends since: use this model's again.
        await switchTfjsBackend(backend);
        const used = tf.getBackend() as Backend;
        const tensors: tf.Tensor[] = [];
        let out: tf.Tensor[] = [];
        try {
          given.forEach((t: TensorData, i) =>
            tensors.push(
              tf.tidy(() => {
                const dtype = t.data instanceof Int32Array ? 'int32' : 'float32';
                const tensor = tf.tensor(t.data, t.shape, dtype);
                const wanted = runner.inputs[i]!.dtype;
                return wanted !== dtype && (wanted === 'float32' || wanted === 'int32') ? tf.cast(tensor, wanted) : tensor;
              }),
            ),
          );
          out = await runner.run(tensors);
          const result: Record<string, TensorData> = {};
          for (const [i, t] of out.entries()) {
            if (t.dtype === 'string') throw new HangarError(ErrorCode.InvalidArgument, 'The model outputs strings, which Hangar does not return.');
            result[runner.outputs[i]?.name ?? `output_${i}`] = { data: toOutputArray((await t.data()) as Float32Array, t.dtype), shape: [...t.shape] };
          }
          return { tensors: result, backend: used };
        } catch (err) {
          if (err instanceof HangarError) throw err;
          throw new HangarError(ErrorCode.InvalidArgument, `The model cannot run on these inputs: ${(err as Error).message}`);
        } finally {
          tf.dispose([...tensors, ...out]);
        }
      });
    },
    dispose: () => runner.dispose(),
  };
}
