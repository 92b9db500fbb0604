import { z } from 'zod';
import { ErrorCode, HangarError } from '../../../shared/errors.ts';
import { LIMITS } from '../../../shared/limits.ts';
import type { DataReport, ModelFiles, TrainRequest, TrainResult } from '../../jobs/protocol.ts';
import type { ClientContext } from '../context.ts';
import type { TrainJobRequest } from '../db.ts';
import { VersionHandle } from '../version.ts';
import type { RegistryApi } from './context.ts';
import { frameworkOf } from './initializer.ts';
import { ensureModel, uploadModelFiles } from './models.ts';

// What a training job does to the version it trains, apart from running the worker.

type Json = z.infer<ReturnType<typeof z.json>>;
/** A value as plain JSON (metadata takes nothing else): undefined and functions dropped. */
const json = (value: unknown): Json => JSON.parse(JSON.stringify(value ?? null)) as Json;
const EPOCH_HANDLE = /^epoch_(\d+)$/;

/** A version by id; `version-not-found` when it (or its model) is gone. */
export async function versionById(client: ClientContext, id: string): Promise<VersionHandle> {
  const row = await client.db.versions.get(id);
  const model = row && (await client.db.models.get(row.modelId));
  if (!row || !model || row.deletedAt !== null) throw new HangarError(ErrorCode.VersionNotFound, 'The version this job trained no longer exists.', { versionId: id });
  return VersionHandle.load(client, model.name, row);
}

/**
 * A new version to train, in the model `saveAs` names (created, task `tabular`, when missing).
 * It is created `pending` (DESIGN §3a), so neither this device, nor the server, nor any device
 * it syncs to takes it for `ns/m` before training has saved its final files.
 */
export async function newTrainedVersion(registry: RegistryApi, module: string, request: TrainJobRequest): Promise<VersionHandle> {
  const model = await ensureModel(registry, request.saveAs.namespace, request.saveAs.model, 'tabular');
  return model.newVersion({ framework: frameworkOf(module), metadata: { module, params: json(request.params) }, status: 'pending' });
}

/**
 * The last epoch whose metrics the version has stored, so a resumed run logs none twice. Only
 * the stored points say so: a job's record gets its progress at once while points wait in the
 * metric queue, so a page that closed may have left its record ahead of them.
 */
export async function loggedEpochs(version: VersionHandle): Promise<number> {
  return Math.max(0, ...Object.values(await version.metrics()).map((m) => m.lastStep));
}

/** The latest `epoch_N` checkpoint of the version, to resume from. */
export async function resumePoint(version: VersionHandle): Promise<TrainRequest['resume']> {
  const epochs = (await version.checkpoints()).items.map((c) => Number(EPOCH_HANDLE.exec(c.handle)?.[1] ?? NaN)).filter((n) => Number.isSafeInteger(n));
  if (!epochs.length) return undefined;
  const epoch = Math.max(...epochs);
  const files: ModelFiles = {};
  for (const f of (await version.loadCheckpoint(`epoch_${epoch}`)).files) files[f.path] = f.blob;
  return { epoch, files };
}

/**
 * A data report small enough for one metadata value (`LIMITS.metadataValueBytes`): a wide data
 * set's report keeps the columns training used (and the target) and counts the others.
 */
export function fitReport(report: DataReport): DataReport & { omittedColumns?: number } {
  const size = (r: unknown) => new TextEncoder().encode(JSON.stringify(r)).length;
  if (size(report) <= LIMITS.metadataValueBytes) return report;
  const kept = report.columns.filter((c) => c.feature || c.action === 'target').map(({ values, ...c }) => ({ ...c, ...(values && { values: values.slice(0, 10) }) }));
  let columns = kept;
  while (columns.length > 1 && size({ ...report, columns }) > LIMITS.metadataValueBytes - 64) columns = columns.slice(0, Math.floor(columns.length * 0.8));
  return { ...report, columns, omittedColumns: report.columns.length - columns.length };
}

/** Stores what training made (model files, lineage, its metrics) and makes the version ready. */
export async function saveTrained(client: ClientContext, version: VersionHandle, job: { id: string; module: string }, result: TrainResult): Promise<void> {
  await uploadModelFiles(version, result.files);
  const lineage = { module: job.module, params: result.params, datasetSha256: result.datasetSha256, job: job.id, backend: result.backend };
  await version.update({ metadata: { params: json(result.params), lineage: json(lineage), ...(result.report && { dataReport: json(fitReport(result.report)) }) } });
  await client.metrics.flush();
  // Last, once its final files are stored: the version becomes `ready` here, and everywhere
  // once its bytes reach the server.
  await version.markReady();
}
