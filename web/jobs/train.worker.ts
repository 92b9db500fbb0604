// The trainer: a module Web Worker that trains one model per `train` call (DESIGN §1 "Model
// management"). Job management (web/client/jobs/) wraps it with Comlink; a hard cancel
// terminates the worker.
import { expose } from 'comlink';
import '../common/comlink-errors.ts';
import { ErrorCode, HangarError } from '../../shared/errors.ts';
import { sha256OfBlob } from '../common/hashing.ts';
import { checkDataSize, readTrainingData } from './csv.ts';
import { profileTable } from './profile.ts';
import { tabularParams } from './modules/tabular-data.ts';
import { asHangarError } from './errors.ts';
import { loadTrainableModule } from './modules/index.ts';
import type { DataReport, ModelFiles, ReportRequest, TrainerWorkerApi, TrainProgress, TrainRequest, TrainResult } from './protocol.ts';

export type { TrainerWorkerApi };

/** SHA-256 of the data as given: the CSV's bytes, or the rows as JSON. */
function datasetSha256(data: TrainRequest['data']): Promise<string> {
  return sha256OfBlob(dataBlob(data));
}

/** The data as bytes: the CSV, or the rows as JSON. */
const dataBlob = (data: TrainRequest['data']): Blob => ('csv' in data ? data.csv : new Blob([JSON.stringify(data.rows)], { type: 'application/json' }));

/**
 * Progress calls sent to the page and not yet answered. Sending does not wait (training does not
 * wait on the page between checkpoints), but progress and checkpoints travel over separate
 * Comlink proxies, with no order between them, and the result over a third: `settled` waits for
 * every progress call sent so far, so the page has seen them all before a checkpoint or the result.
 */
function progressSender(onProgress: (p: TrainProgress) => void | Promise<void>) {
  let pending: Promise<unknown>[] = [];
  return {
    send(p: TrainProgress): void {
      // A progress call that fails (the page is going away) is not a training failure.
      pending.push(Promise.resolve(onProgress(p)).catch(() => undefined));
    },
    async settled(): Promise<void> {
      while (pending.length > 0) {
        const sent = pending;
        pending = [];
        await Promise.all(sent);
      }
    },
  };
}

const trainer: TrainerWorkerApi = {
  async train(
    request: TrainRequest,
    onProgress: (p: TrainProgress) => void | Promise<void>,
    onCheckpoint: (epoch: number, files: ModelFiles) => Promise<void>,
  ): Promise<TrainResult> {
    const progress = progressSender(onProgress);
    try {
      if (!request || typeof request !== 'object' || !request.data) {
        throw new HangarError(ErrorCode.InvalidArgument, 'A training request needs module, data, target, params, backends and checkpointEvery.');
      }
      const module = await loadTrainableModule(request.module);
      checkDataSize(dataBlob(request.data).size);
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
        onProgress: (p) => progress.send(p),
        // Epoch N's progress reaches the page before epoch N's checkpoint.
        onCheckpoint: async (epoch, files) => {
          await progress.settled();
          await onCheckpoint(epoch, files);
        },
      });
      // The model is in its files now; this worker keeps nothing between jobs.
      trained.model.dispose();
      const { files, metrics, backend, skipped, params, report } = trained;
      const datasetSha = await digest;
      // No progress after the result: the page ends the job (and this worker) once it has it.
      await progress.settled();
      return { files, metrics, backend, ...(skipped && { skipped }), params, datasetSha256: datasetSha, ...(report && { report }) };
    } catch (err) {
      await progress.settled();
      throw asHangarError(err, 'Training');
    }
  },

  async report(request: ReportRequest): Promise<DataReport> {
    try {
      if (!request || typeof request !== 'object' || !request.data) {
        throw new HangarError(ErrorCode.InvalidArgument, 'A data report needs module, data, target and params.');
      }
      await loadTrainableModule(request.module);
      const { features } = tabularParams(request.params ?? {});
      checkDataSize(dataBlob(request.data).size);
      const table = await readTrainingData(request.data);
      return profileTable(table, request.target, request.module, features).report;
    } catch (err) {
      throw asHangarError(err, 'The data report');
    }
  },
};

expose(trainer);
