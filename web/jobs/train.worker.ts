// The trainer: a module Web Worker that trains one model per `train` call (DESIGN §1 "Model
// management"). Job management (web/client/jobs/) wraps it with Comlink; a hard cancel
// terminates the worker.
import { expose } from 'comlink';
import '../client/comlink-errors.ts';
import { ErrorCode, HangarError } from '../../shared/errors.ts';
import { sha256OfBlob } from '../client/hashing.ts';
import { readTrainingData } from './csv.ts';
import { loadTrainableModule } from './modules/index.ts';
import type { ModelFiles, TrainerWorkerApi, TrainProgress, TrainRequest, TrainResult } from './protocol.ts';

export type { TrainerWorkerApi };

/** SHA-256 of the data as given: the CSV's bytes, or the rows as JSON. */
function datasetSha256(data: TrainRequest['data']): Promise<string> {
  const blob = 'csv' in data ? data.csv : new Blob([JSON.stringify(data.rows)], { type: 'application/json' });
  return sha256OfBlob(blob);
}

/** An unexpected failure (a tfjs or ORT error) becomes `internal` with its message; a HangarError stays as it is. */
function asHangarError(err: unknown): HangarError {
  if (err instanceof HangarError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new HangarError(ErrorCode.Internal, `Training failed: ${message}`, { cause: message });
}

const trainer: TrainerWorkerApi = {
  async train(
    request: TrainRequest,
    onProgress: (p: TrainProgress) => void,
    onCheckpoint: (epoch: number, files: ModelFiles) => Promise<void>,
  ): Promise<TrainResult> {
    try {
      if (!request || typeof request !== 'object' || !request.data) {
        throw new HangarError(ErrorCode.InvalidArgument, 'A training request needs module, data, target, params, backends and checkpointEvery.');
      }
      const module = await loadTrainableModule(request.module);
      const table = await readTrainingData(request.data);
      const digest = datasetSha256(request.data);
      // Awaited below once training ends; a failure before then must not go unhandled.
      digest.catch(() => undefined);
      const trained = await module.train({
        table,
        target: request.target,
        params: request.params ?? {},
        backends: request.backends,
        checkpointEvery: request.checkpointEvery ?? 0,
        ...(request.resume && { resume: request.resume }),
        // Progress is not awaited: training does not wait on the page. Its messages keep their order.
        onProgress: (p) => void Promise.resolve(onProgress(p)).catch(() => undefined),
        onCheckpoint: (epoch, files) => Promise.resolve(onCheckpoint(epoch, files)),
      });
      // The model is in its files now; this worker keeps nothing between jobs.
      trained.model.dispose();
      const { files, metrics, backend, params } = trained;
      return { files, metrics, backend, params, datasetSha256: await digest };
    } catch (err) {
      throw asHangarError(err);
    }
  },
};

expose(trainer);
