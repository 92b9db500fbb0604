import { z } from 'zod';
import { ErrorCode, HangarError } from '../../../shared/errors.ts';
import { aliasSchema, namespaceSchema, nameSchema } from '../../../shared/names.ts';
import { parseWith } from '../../../shared/validate.ts';
import { MODULE_IDS, MODULE_TYPES } from '../../jobs/modules/index.ts';
import type { ModelFiles } from '../../jobs/protocol.ts';
import type { ModelHandle } from '../model.ts';
import type { VersionHandle } from '../version.ts';
import type { RegistryApi } from './context.ts';
import { frameworkOf } from './initializer.ts';

/** Where a version keeps its runnable model files among its artifacts. */
export const MODEL_DIR = 'model/';

/**
 * Why `module` cannot train (`use: 'train'`) or run imported files (`use: 'import'`), read from
 * MODULE_TYPES without loading any ML code: `unknown-module` for no such module, `invalid-argument`
 * for one of the other use; undefined when it fits.
 */
export function moduleProblem(module: string, use: 'train' | 'import'): HangarError | undefined {
  const type = Object.hasOwn(MODULE_TYPES, module) ? MODULE_TYPES[module] : undefined;
  const fit = MODULE_IDS.filter((id) => MODULE_TYPES[id]!.trainable === (use === 'train'));
  const what = use === 'train' ? 'modules that train' : 'modules that import model files';
  if (!type) return new HangarError(ErrorCode.UnknownModule, `There is no module "${module}"; ${what}: ${fit.join(', ')}.`, { module, known: fit });
  if (type.trainable !== (use === 'train')) {
    const why = use === 'train' ? 'cannot train' : 'trains its own models, it does not import files';
    return new HangarError(ErrorCode.InvalidArgument, `The module "${module}" ${why}; ${what}: ${fit.join(', ')}.`, { module, known: fit });
  }
  return undefined;
}

/** A model by name, created (with `task`) when missing; two jobs creating it at once get the same one. */
export async function ensureModel(registry: RegistryApi, namespace: string, name: string, task?: string): Promise<ModelHandle> {
  try {
    return await registry.model(namespace, name);
  } catch (err) {
    if (!(err instanceof HangarError) || err.code !== ErrorCode.ModelNotFound) throw err;
  }
  try {
    return await registry.newModel({ namespace, name, ...(task ? { task } : {}) });
  } catch (err) {
    if (err instanceof HangarError && err.code === ErrorCode.ModelExists) return registry.model(namespace, name);
    throw err;
  }
}

/** Uploads model files as the version's artifacts under `model/` (file type MODEL). */
export async function uploadModelFiles(version: VersionHandle, files: ModelFiles): Promise<void> {
  await version.uploadArtifacts(Object.entries(files).map(([name, file]) => ({ file, path: `${MODEL_DIR}${name}`, fileType: 'MODEL' as const })));
}

/** A version's model files (its artifacts under `model/`), by path below `model/`; `artifact-not-found` when it has none. */
export async function readModelFiles(version: VersionHandle): Promise<ModelFiles> {
  const paths = (await version.artifacts()).map((a) => a.path).filter((p) => p.startsWith(MODEL_DIR));
  if (!paths.length) {
    throw new HangarError(ErrorCode.ArtifactNotFound, `Version ${version.number} of "${version.model}" has no model files under "${MODEL_DIR}".`, {
      model: version.model,
      version: version.number,
    });
  }
  const files: ModelFiles = {};
  for (const path of paths) files[path.slice(MODEL_DIR.length)] = await version.readArtifact(path);
  return files;
}

/** Input of `hangar.importModelFiles`. */
export interface ImportModelFiles {
  namespace: string;
  /** The model's name; created when missing. */
  model: string;
  /** The module that runs the files: `tfjs-import` (model.json + weight shards) or `onnx-import` (model.onnx); another is refused (`unknown-module`). */
  module: 'tfjs-import' | 'onnx-import' | (string & {});
  /** Files by name (`{ 'model.json': blob, 'weights.bin': blob }`), or Files named by their own names. */
  files: Record<string, Blob> | File[];
  /** Aliases to point at the new version (`['production']`). */
  uniqueTags?: string[];
  /** More metadata for the version. */
  metadata?: Record<string, unknown>;
}

const importSchema = z.object({
  namespace: namespaceSchema,
  model: nameSchema,
  module: z.string().min(1).max(128),
  files: z.union([z.array(z.instanceof(Blob)).min(1), z.record(z.string(), z.instanceof(Blob))]),
  uniqueTags: z.array(aliasSchema).optional(),
  metadata: z.record(z.string(), z.unknown()).optional(),
});

/**
 * Registers existing model files (a tfjs model, an ONNX file) as a new version: the files go
 * under `model/` with metadata `module`, so a predictor can run them.
 */
export async function importModelFiles(registry: RegistryApi, input: ImportModelFiles): Promise<VersionHandle> {
  const data = parseWith(importSchema, input, 'model files');
  const files: ModelFiles = Array.isArray(data.files) ? Object.fromEntries(data.files.map((f) => [(f as File).name, f])) : data.files;
  if (!Object.keys(files).length) throw new HangarError(ErrorCode.InvalidArgument, 'Invalid model files: files must hold at least one file.', { issues: [{ path: 'files', message: 'must not be empty' }] });
  const problem = moduleProblem(data.module, 'import');
  if (problem) throw problem;
  const model = await ensureModel(registry, data.namespace, data.model);
  // Pending until its files are stored (DESIGN §3a), so no device or server serves it without them.
  const version = await model.newVersion({
    framework: frameworkOf(data.module),
    metadata: { ...data.metadata, module: data.module },
    ...(data.uniqueTags ? { uniqueTags: data.uniqueTags } : {}),
    status: 'pending',
  });
  try {
    await uploadModelFiles(version, files);
  } catch (err) {
    // A version whose files were refused is no model: mark it so `ns/m` never picks it.
    await version.markFailed().catch(() => undefined);
    throw err;
  }
  return version.markReady();
}
