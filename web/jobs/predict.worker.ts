// The predictor: a module Web Worker that keeps models loaded by key and predicts with them
// (DESIGN §1 "Model management"). Job management (web/client/jobs/) wraps it with Comlink.
import { expose, transfer } from 'comlink';
import '../common/comlink-errors.ts';
import { ErrorCode, HangarError } from '../../shared/errors.ts';
import { asHangarError } from './errors.ts';
import { tfjsMemory } from './modules/backends.ts';
import { loadModule } from './modules/index.ts';
import type { LoadedModel } from './modules/module.ts';
import type { Backend, ModelFiles, PredictInput, PredictorWorkerApi, PredictorWorkerDebugApi, PredictOutput } from './protocol.ts';

export type { PredictorWorkerApi, PredictorWorkerDebugApi };

// tfjs models take turns here (`tfjsTask` in modules/backends.ts): tfjs's active backend is global
// to the worker, so each load and prediction runs alone, with its own model's backend set.

/** Loaded models by key; a load in progress is kept too, so a predict that follows it waits for it. */
const models = new Map<string, Promise<LoadedModel>>();

/** The output's typed-array buffers (each its own: modules copy what they answer), to transfer rather than copy. */
function buffers(output: PredictOutput): ArrayBuffer[] {
  if (!('tensors' in output)) return [];
  // A buffer listed twice is a DataCloneError.
  return [...new Set(Object.values(output.tensors).map((t) => t.data.buffer as ArrayBuffer))];
}

const predictor: PredictorWorkerDebugApi = {
  async load(key: string, module: string, files: ModelFiles, backends: Backend[]) {
    const loading = (async () => (await loadModule(module)).load(files, backends))();
    const previous = models.get(key);
    models.set(key, loading);
    // Loading a key again replaces its model; the old one is freed once the new one is in.
    try {
      const model = await loading;
      previous?.then((m) => m !== model && m.dispose(), () => undefined);
      return {
        backend: model.backend,
        ...(model.skipped && { skipped: model.skipped }),
        ...(model.inputs && { inputs: model.inputs }),
        ...(model.outputs && { outputs: model.outputs }),
      };
    } catch (err) {
      if (models.get(key) === loading) {
        if (previous) models.set(key, previous);
        else models.delete(key);
      }
      throw asHangarError(err, `Loading ${module}`);
    }
  },

  async predict(key: string, input: PredictInput): Promise<PredictOutput> {
    const loaded = models.get(key);
    if (!loaded) throw new HangarError(ErrorCode.InvalidArgument, `No model is loaded under "${key}": load it first.`, { key });
    try {
      const output = await (await loaded).predict(input);
      return transfer(output, buffers(output));
    } catch (err) {
      throw asHangarError(err, 'Prediction');
    }
  },

  async unload(key: string) {
    const loaded = models.get(key);
    models.delete(key);
    await loaded?.then((m) => m.dispose(), () => undefined);
  },

  memory: () => tfjsMemory(),
};

expose(predictor);
