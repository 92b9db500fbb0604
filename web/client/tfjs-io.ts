import type * as tf from '@tensorflow/tfjs-core';
import { ErrorCode, HangarError } from '../../shared/errors.ts';
import { parseRef, type Ref } from '../../shared/refs.ts';
import { MODEL_DIR } from './jobs/models.ts';
import type { Hangar } from './registry.ts';

/** The URL scheme of the routers: `hangar://team/iris@production`. */
export const HANGAR_SCHEME = 'hangar://';

/** The part of `tf.io` the routers use; `tf.io` itself fits. */
export type TfIo = Pick<typeof tf.io, 'registerLoadRouter' | 'registerSaveRouter' | 'getModelArtifactsForJSON' | 'getModelArtifactsInfoForJSON'>;

type Router = Parameters<typeof tf.io.registerLoadRouter>[0];
type RegistryPart = Pick<Hangar, 'find' | 'importModelFiles'>;

/** The registry each `tf.io` routes to: registering again points the routers at another registry instead of adding a second pair. */
const routed = new WeakMap<object, { hangar: RegistryPart }>();

const MODEL_JSON = 'model.json';
const WEIGHTS = 'weights.bin';

/**
 * Registers `hangar://` load and save routers on tfjs (passed in, so the client library never
 * imports tfjs itself):
 * - `tf.loadLayersModel('hangar://ns/m@production')` (or `ns/m/3`, or `ns/m` for the latest
 *   ready version) reads the version's model JSON under `model/` (`model/model.json`, or one at
 *   any depth such as `model/web_model/model.json`) and its weight files, relative to it, offline
 *   (a version with no `model/` folder, as one registered from an MLflow run's `model` folder,
 *   is read from its root);
 *   files that do not make a tfjs model are `invalid-model-file`;
 * - `model.save('hangar://ns/m')` creates the model if missing and a new version holding
 *   `model/model.json` + `model/weights.bin`, with module `tfjs-import` so predictors run it;
 *   `hangar://ns/m@alias` also points the alias at the new version.
 */
export function registerHangarRouters(io: TfIo, hangar: RegistryPart): void {
  const existing = routed.get(io);
  if (existing) {
    existing.hangar = hangar;
    return;
  }
  const target = { hangar };
  routed.set(io, target);
  const ref = (url: string | string[]) => (typeof url === 'string' && url.startsWith(HANGAR_SCHEME) ? parseRef(url) : undefined);
  const loadRouter = (url: string | string[]): tf.io.IOHandler | null => {
    const r = ref(url);
    return r ? { load: () => load(io, target.hangar, url as string) } : null;
  };
  const saveRouter = (url: string | string[]): tf.io.IOHandler | null => {
    const r = ref(url);
    return r ? { save: (artifacts) => save(io, target.hangar, r, artifacts) } : null;
  };
  // tfjs's routers answer null for URLs that are not theirs; its IORouter type leaves that out.
  io.registerLoadRouter(loadRouter as Router);
  io.registerSaveRouter(saveRouter as Router);
}

const invalidFile = (message: string, details: Record<string, unknown>) => new HangarError(ErrorCode.InvalidModelFile, message, details);

/** A JSON model file, parsed; `invalid-model-file` when it is not JSON. */
async function readJson(read: (path: string) => Promise<Blob>, url: string, path: string): Promise<unknown> {
  try {
    return JSON.parse(await (await read(path)).text()) as unknown;
  } catch (err) {
    if (err instanceof HangarError) throw err;
    throw invalidFile(`${url}: ${MODEL_DIR}${path} is not valid JSON.`, { ref: url, path: `${MODEL_DIR}${path}` });
  }
}

/**
 * Where the model JSON is among the model files (paths below `model/`), as the tfjs-import module
 * finds it: the one `model.json` at any depth (`web_model/model.json`), else the one JSON file
 * holding a `modelTopology`.
 */
async function findModelJson(paths: string[], read: (path: string) => Promise<Blob>, url: string): Promise<string> {
  const named = paths.filter((p) => p === MODEL_JSON || p.endsWith(`/${MODEL_JSON}`));
  if (named.length === 1) return named[0]!;
  const candidates: string[] = [];
  for (const path of paths.filter((p) => p.endsWith('.json'))) {
    const json = await readJson(read, url, path).catch(() => undefined);
    if (json && typeof json === 'object' && 'modelTopology' in json) candidates.push(path);
  }
  if (candidates.length === 1) return candidates[0]!;
  const why = candidates.length ? `several model JSON files (${candidates.join(', ')})` : `no ${MODEL_JSON} with a modelTopology`;
  throw invalidFile(`${url}: ${why} among the version's files under ${MODEL_DIR}.`, { ref: url, files: paths });
}

/** `dir/` + `./a/../b` → `dir/b`: a weight path taken relative to the model JSON's folder, as tfjs resolves it against the JSON's URL. */
function resolvePath(dir: string, path: string): string {
  const parts: string[] = [];
  for (const part of `${dir}${path}`.split('/')) {
    if (part === '..') parts.pop();
    else if (part !== '' && part !== '.') parts.push(part);
  }
  return parts.join('/');
}

async function load(io: TfIo, hangar: RegistryPart, url: string): Promise<tf.io.ModelArtifacts> {
  const version = await hangar.find(url);
  const all = (await version.artifacts()).map((a) => a.path);
  // A version registered from an MLflow run (`runs:/<id>/model`) holds that folder's files at its
  // root, with no `model/` folder: then the version's files are the model's.
  const base = all.some((p) => p.startsWith(MODEL_DIR)) ? MODEL_DIR : '';
  const paths = all.filter((p) => p.startsWith(base)).map((p) => p.slice(base.length));
  if (!paths.length) {
    throw new HangarError(ErrorCode.ArtifactNotFound, `Version ${version.number} of "${version.model}" has no model files under "${MODEL_DIR}".`, { ref: url });
  }
  const read = (path: string) => version.readArtifact(`${base}${path}`);
  const jsonPath = await findModelJson(paths, read, url);
  const json = await readJson(read, url, jsonPath);
  if (!json || typeof json !== 'object' || !('modelTopology' in json) || !Array.isArray((json as tf.io.ModelJSON).weightsManifest ?? [])) {
    throw invalidFile(`${url}: ${base}${jsonPath} is not a tfjs model JSON (a modelTopology and a weightsManifest list).`, { ref: url, path: `${base}${jsonPath}` });
  }
  const dir = jsonPath.slice(0, jsonPath.lastIndexOf('/') + 1);
  /** A weight path named by the JSON: relative to it, else (as tfjs-import does) any file of that name. */
  const locate = (shard: string) => {
    const exact = resolvePath(dir, shard);
    const name = exact.slice(exact.lastIndexOf('/') + 1);
    return paths.includes(exact) ? exact : paths.find((p) => p === name || p.endsWith(`/${name}`));
  };
  return io.getModelArtifactsForJSON(json as tf.io.ModelJSON, async (manifest) => {
    const specs = manifest.flatMap((group) => group.weights);
    const shards = manifest.flatMap((group) => group.paths).map((shard) => ({ shard, path: locate(shard) }));
    const missing = shards.filter((s) => s.path === undefined).map((s) => s.shard);
    if (missing.length) throw invalidFile(`${url}: weight files named by ${MODEL_DIR}${jsonPath} are missing: ${missing.join(', ')}.`, { ref: url, missing });
    const blobs: Blob[] = [];
    for (const { path } of shards) blobs.push(await read(path!));
    // One buffer: every tfjs version decodes it, whatever it makes of sharded weight data.
    return [specs, await new Blob(blobs).arrayBuffer()];
  });
}

async function save(io: TfIo, hangar: RegistryPart, ref: Ref, artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> {
  if (ref.kind === 'number') {
    throw new HangarError(ErrorCode.InvalidArgument, 'Save to "hangar://namespace/model" (or "…@alias"): the registry numbers the new version.', {
      ref: `${ref.namespace}/${ref.model}/${ref.number}`,
    });
  }
  if (artifacts.modelTopology instanceof ArrayBuffer || !artifacts.modelTopology) {
    throw new HangarError(ErrorCode.InvalidArgument, 'Only models with a JSON topology (layers and graph models) can be saved to hangar://.');
  }
  const { modelTopology, format, generatedBy, convertedBy, trainingConfig, signature, userDefinedMetadata, modelInitializer, initializerSignature } = artifacts;
  const modelJSON: tf.io.ModelJSON = {
    modelTopology,
    ...(format !== undefined ? { format } : {}),
    ...(generatedBy !== undefined ? { generatedBy } : {}),
    ...(convertedBy !== undefined ? { convertedBy } : {}),
    ...(trainingConfig !== undefined ? { trainingConfig } : {}),
    ...(signature !== undefined ? { signature } : {}),
    ...(userDefinedMetadata !== undefined ? { userDefinedMetadata } : {}),
    ...(modelInitializer !== undefined ? { modelInitializer } : {}),
    ...(initializerSignature !== undefined ? { initializerSignature } : {}),
    weightsManifest: [{ paths: [WEIGHTS], weights: artifacts.weightSpecs ?? [] }],
  };
  const data = artifacts.weightData;
  const weights = new Blob(data === undefined ? [] : Array.isArray(data) ? data : [data], { type: 'application/octet-stream' });
  await hangar.importModelFiles({
    namespace: ref.namespace,
    model: ref.model,
    module: 'tfjs-import',
    files: { [MODEL_JSON]: new Blob([JSON.stringify(modelJSON)], { type: 'application/json' }), [WEIGHTS]: weights },
    ...(ref.kind === 'alias' ? { uniqueTags: [ref.alias] } : {}),
  });
  return { modelArtifactsInfo: io.getModelArtifactsInfoForJSON(artifacts) };
}
