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
 *   ready version) reads the version's `model/model.json` and its weight files, offline;
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

/** `./group1-shard1of1.bin` → `group1-shard1of1.bin`: weight paths are relative to model.json. */
const relative = (path: string) => path.replace(/^(\.\/)+/, '');

async function load(io: TfIo, hangar: RegistryPart, url: string): Promise<tf.io.ModelArtifacts> {
  const version = await hangar.find(url);
  const text = await (await version.readArtifact(`${MODEL_DIR}${MODEL_JSON}`)).text();
  let json: tf.io.ModelJSON;
  try {
    json = JSON.parse(text) as tf.io.ModelJSON;
  } catch {
    throw new HangarError(ErrorCode.InvalidArgument, `${url}: model/model.json is not JSON.`, { ref: url });
  }
  return io.getModelArtifactsForJSON(json, async (manifest) => {
    const specs = manifest.flatMap((group) => group.weights);
    const shards: Blob[] = [];
    for (const group of manifest) for (const path of group.paths) shards.push(await version.readArtifact(`${MODEL_DIR}${relative(path)}`));
    // One buffer: every tfjs version decodes it, whatever it makes of sharded weight data.
    return [specs, await new Blob(shards).arrayBuffer()];
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
