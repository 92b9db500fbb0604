import * as tf from '@tensorflow/tfjs-core';
import { ErrorCode, HangarError } from '../../../shared/errors.ts';
import type { ModelFiles } from '../protocol.ts';

// tfjs models as Hangar files: `model.json` (topology + weights manifest, the layout of
// tfjs-converter's output and of `model.save('downloads://')`) and its weight shards.

export const MODEL_JSON = 'model.json';
export const WEIGHTS_BIN = 'weights.bin';

const invalidFile = (message: string, details?: Record<string, unknown>) => new HangarError(ErrorCode.InvalidModelFile, message, details);

/** Anything tfjs can save: a LayersModel (a GraphModel too). */
interface Saveable {
  save(handler: tf.io.IOHandler, config?: tf.io.SaveConfig): Promise<tf.io.SaveResult>;
  /** A LayersModel's optimizer, saved with it when `includeOptimizer` is set. */
  readonly optimizer?: tf.Optimizer | null;
}

/** Saves a model as `model.json` + `weights.bin` Blobs (`includeOptimizer` for a checkpoint that resumes training). */
export async function saveModelFiles(model: Saveable, config?: tf.io.SaveConfig): Promise<ModelFiles> {
  let files: ModelFiles | undefined;
  const save = () =>
    model.save(
      tf.io.withSaveHandler(async function captureArtifacts(artifacts) {
        files = artifactsToFiles(artifacts);
        return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
      }),
      config,
    );
  const optimizer = config?.includeOptimizer ? model.optimizer : undefined;
  if (optimizer) await withOptimizerWeightsFreed(optimizer, save);
  else await save();
  return files!;
}

/**
 * Runs `save` and frees the tensors the optimizer's `getWeights` made meanwhile. A LayersModel
 * saved with its optimizer asks it for its weights: its variables (kept), and a new scalar of its
 * step count that tfjs never frees, one more tensor per checkpoint. Only this call's
 * `getWeights` is watched, and only what is not a variable is freed.
 */
async function withOptimizerWeightsFreed(optimizer: tf.Optimizer, save: () => Promise<unknown>): Promise<void> {
  const made: Awaited<ReturnType<tf.Optimizer['getWeights']>> = [];
  const own = Object.getOwnPropertyDescriptor(optimizer, 'getWeights');
  const getWeights = optimizer.getWeights;
  optimizer.getWeights = async function getWeightsWatched() {
    const weights = await getWeights.call(optimizer);
    made.push(...weights);
    return weights;
  };
  try {
    await save();
  } finally {
    if (own) Object.defineProperty(optimizer, 'getWeights', own);
    else delete (optimizer as { getWeights?: unknown }).getWeights;
    tf.dispose(made.map((w) => w.tensor).filter((t) => !(t instanceof tf.Variable)));
  }
}

/** The files of a model's artifacts: the JSON as tfjs-converter writes it, the weights in one shard. */
export function artifactsToFiles(artifacts: tf.io.ModelArtifacts): ModelFiles {
  if (artifacts.modelTopology instanceof ArrayBuffer) throw new Error('tfjs gave a binary topology; only JSON topologies are saved.');
  const { modelTopology, format, generatedBy, convertedBy, trainingConfig, userDefinedMetadata, signature, modelInitializer, initializerSignature } =
    artifacts;
  const json: tf.io.ModelJSON = {
    modelTopology: modelTopology ?? {},
    ...(format !== undefined && { format }),
    ...(generatedBy !== undefined && { generatedBy }),
    convertedBy: convertedBy ?? null,
    ...(trainingConfig && { trainingConfig }),
    ...(userDefinedMetadata && { userDefinedMetadata }),
    ...(signature && { signature }),
    ...(modelInitializer && { modelInitializer }),
    ...(initializerSignature && { initializerSignature }),
    weightsManifest: [{ paths: [WEIGHTS_BIN], weights: artifacts.weightSpecs ?? [] }],
  };
  const weights = artifacts.weightData ?? new ArrayBuffer(0);
  return {
    [MODEL_JSON]: new Blob([JSON.stringify(json)], { type: 'application/json' }),
    // A Blob of the shards as they are: no copy into one buffer.
    [WEIGHTS_BIN]: new Blob(Array.isArray(weights) ? weights : [weights], { type: 'application/octet-stream' }),
  };
}

/** Reads a JSON file of a model's files; `invalid-model-file` when it is missing or not JSON. */
export async function readJsonFile<T>(files: ModelFiles, path: string): Promise<T> {
  const blob = files[path];
  if (!(blob instanceof Blob)) throw invalidFile(`The model has no file ${path}; its files are ${Object.keys(files).join(', ') || 'none'}.`, { path });
  try {
    return JSON.parse(await blob.text()) as T;
  } catch {
    throw invalidFile(`${path} is not valid JSON.`, { path });
  }
}

/** The path of the model JSON among the files: `model.json`, or the one `.json` file that holds a topology. */
async function findModelJson(files: ModelFiles): Promise<string> {
  const paths = Object.keys(files);
  const named = paths.filter((p) => p === MODEL_JSON || p.endsWith(`/${MODEL_JSON}`));
  if (named.length === 1) return named[0]!;
  const candidates: string[] = [];
  for (const path of paths.filter((p) => p.endsWith('.json'))) {
    const json = await readJsonFile<Record<string, unknown>>(files, path).catch(() => undefined);
    if (json && typeof json === 'object' && 'modelTopology' in json) candidates.push(path);
  }
  if (candidates.length === 1) return candidates[0]!;
  throw invalidFile(
    candidates.length === 0
      ? `No tfjs model JSON among the files (${paths.join(', ') || 'none'}): expected ${MODEL_JSON} with a modelTopology.`
      : `Several model JSON files (${candidates.join(', ')}): name the one to load ${MODEL_JSON}.`,
    { files: paths },
  );
}

/** `dir/./a/../b` → `dir/b`, relative to the JSON's folder, as tfjs resolves shard paths against its URL. */
function resolvePath(dir: string, path: string): string {
  const parts: string[] = [];
  for (const part of `${dir}${path}`.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') parts.pop();
    else parts.push(part);
  }
  return parts.join('/');
}

/**
 * A model's artifacts from its files: the JSON (`model.json`), and every shard its weights
 * manifest names, found by path relative to the JSON (or, failing that, by file name). A missing
 * shard or a JSON without a topology is `invalid-model-file`.
 */
export async function filesToArtifacts(files: ModelFiles): Promise<{ json: tf.io.ModelJSON; artifacts: tf.io.ModelArtifacts }> {
  const jsonPath = await findModelJson(files);
  const json = await readJsonFile<tf.io.ModelJSON>(files, jsonPath);
  if (!json || typeof json !== 'object' || !json.modelTopology || typeof json.modelTopology !== 'object') {
    throw invalidFile(`${jsonPath} has no modelTopology: it is not a tfjs model.`, { path: jsonPath });
  }
  const dir = jsonPath.includes('/') ? jsonPath.slice(0, jsonPath.lastIndexOf('/') + 1) : '';
  const byName = new Map<string, string[]>();
  for (const path of Object.keys(files)) {
    const name = path.slice(path.lastIndexOf('/') + 1);
    byName.set(name, [...(byName.get(name) ?? []), path]);
  }
  const loadShards = async (manifest: tf.io.WeightsManifestConfig): Promise<[tf.io.WeightsManifestEntry[], ArrayBuffer[]]> => {
    if (!Array.isArray(manifest)) throw invalidFile(`The weightsManifest of ${jsonPath} is not a list.`);
    const paths = manifest.flatMap((group) => group.paths ?? []);
    const missing: string[] = [];
    const blobs = paths.map((shard) => {
      const exact = resolvePath(dir, shard);
      const found = files[exact] ? exact : byName.get(exact.slice(exact.lastIndexOf('/') + 1))?.[0];
      if (!found) missing.push(shard);
      return found ? files[found]! : undefined;
    });
    if (missing.length > 0) throw invalidFile(`Weight files named by ${jsonPath} are missing: ${missing.join(', ')}.`, { missing });
    const buffers = await Promise.all(blobs.map((b) => b!.arrayBuffer()));
    const specs = tf.io.getWeightSpecs(manifest);
    const expected = specs.reduce((sum, s) => sum + weightBytes(s), 0);
    const actual = buffers.reduce((sum, b) => sum + b.byteLength, 0);
    if (!Number.isNaN(expected) && actual < expected) {
      throw invalidFile(`The weight files hold ${actual} bytes; ${jsonPath} describes ${expected}.`, { expected, actual });
    }
    return [specs, buffers];
  };
  try {
    return { json, artifacts: await tf.io.getModelArtifactsForJSON(json, loadShards) };
  } catch (err) {
    if (err instanceof HangarError) throw err;
    throw invalidFile(`${jsonPath} cannot be read as a tfjs model: ${(err as Error).message}`);
  }
}

const BYTES_PER: Record<string, number> = { float32: 4, int32: 4, bool: 1, complex64: 8, float16: 2, uint8: 1, uint16: 2, int16: 2 };

/** Bytes a weight takes in its shard (NaN when unknown: strings, or quantized weights counted otherwise). */
function weightBytes(spec: tf.io.WeightsManifestEntry): number {
  const count = spec.shape.reduce((a, b) => a * b, 1);
  if (spec.quantization) return count * (BYTES_PER[spec.quantization.dtype] ?? Number.NaN);
  return count * (BYTES_PER[spec.dtype] ?? Number.NaN);
}
