import { proxy, transfer, wrap } from 'comlink';
import '../../common/comlink-errors.ts';
import { ErrorCode, HangarError } from '../../../shared/errors.ts';
import type { PredictInput, PredictorWorkerApi, TrainerWorkerApi } from '../../jobs/protocol.ts';

/** A started Web Worker: its API, a way to stop it, and a promise that rejects if it dies. */
export interface WorkerHandle<Api> {
  api: Api;
  /** Hard stop: whatever it was doing ends now. */
  terminate(): void;
  /** Rejects (HangarError `internal`) when the worker fails to load or dies; never resolves. */
  failed: Promise<never>;
}

/** Starts a worker; tests pass fakes. */
export type Spawn<Api> = () => WorkerHandle<Api>;

function watch(worker: Worker, what: string): Promise<never> {
  let fail: (err: unknown) => void = () => undefined;
  const failed = new Promise<never>((_, reject) => (fail = reject));
  failed.catch(() => undefined);
  worker.addEventListener('error', function onJobWorkerError(event) {
    event.preventDefault();
    fail(new HangarError(ErrorCode.Internal, `The ${what} worker stopped: ${event.message || 'it could not load'}.`));
  });
  worker.addEventListener('messageerror', function onJobWorkerMessageError() {
    fail(new HangarError(ErrorCode.Internal, `The ${what} worker sent a message that could not be read.`));
  });
  return failed;
}

/**
 * One module Web Worker per training job (so cancel can terminate it), wrapped with Comlink.
 * The callbacks cross as proxies; the dataset Blob crosses as a handle, not bytes.
 */
export const spawnTrainWorker: Spawn<TrainerWorkerApi> = () => {
  const worker = new Worker(new URL('../../jobs/train.worker.ts', import.meta.url), { type: 'module', name: 'hangar-train' });
  const remote = wrap<TrainerWorkerApi>(worker);
  return {
    api: {
      train: (request, onProgress, onCheckpoint) => remote.train(request, proxy(onProgress), proxy(onCheckpoint)),
      report: (request) => remote.report(request),
    },
    terminate: () => worker.terminate(),
    failed: watch(worker, 'training'),
  };
};

/**
 * A prediction's input as it goes to the worker, with the buffers to transfer. Tensor data is
 * copied first, always: the caller's typed arrays stay theirs and usable (a caller may predict
 * with the same input again; transferring their buffers would empty their arrays), and a view
 * on part of a larger buffer sends only its own bytes (structured clone would copy the whole
 * buffer under it, twice). The copies, each an exact-size buffer, are transferred, not cloned.
 */
export function predictMessage(input: PredictInput): [PredictInput, ArrayBuffer[]] {
  if (!input || typeof input !== 'object' || !('tensors' in input) || !input.tensors || typeof input.tensors !== 'object') return [input, []];
  const tensors: Extract<PredictInput, { tensors: unknown }>['tensors'] = {};
  const buffers: ArrayBuffer[] = [];
  for (const [name, t] of Object.entries(input.tensors)) {
    if (t?.data instanceof Float32Array || t?.data instanceof Int32Array) {
      // slice(): a new typed array over a new buffer of exactly its bytes.
      const data = t.data.slice();
      tensors[name] = { ...t, data };
      buffers.push(data.buffer);
    } else {
      // Not ours to fix here: the worker refuses it, saying why.
      tensors[name] = t;
    }
  }
  return [{ ...input, tensors }, buffers];
}

/** The predictor worker: one per predictor, shared by its prediction jobs. Tensor inputs are transferred (see `predictMessage`). */
export const spawnPredictWorker: Spawn<PredictorWorkerApi> = () => {
  const worker = new Worker(new URL('../../jobs/predict.worker.ts', import.meta.url), { type: 'module', name: 'hangar-predict' });
  const remote = wrap<PredictorWorkerApi>(worker);
  return {
    api: {
      load: (key, module, files, backends) => remote.load(key, module, files, backends),
      predict: (key, input) => {
        const [message, buffers] = predictMessage(input);
        return remote.predict(key, transfer(message, buffers));
      },
      unload: (key) => remote.unload(key),
    },
    terminate: () => worker.terminate(),
    failed: watch(worker, 'prediction'),
  };
};
