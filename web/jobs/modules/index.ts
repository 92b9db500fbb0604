import { ErrorCode, HangarError } from '../../../shared/errors.ts';
import type { Framework, Module } from './module.ts';

/** What is known of a module without loading its ML code. */
export interface ModuleType {
  id: string;
  framework: Framework;
  /** Whether `train` exists (import modules only load and predict). */
  trainable: boolean;
  /** Loads the module's code (and its ML library) on first use. */
  load(): Promise<Module>;
}

/**
 * Every module type, by id. Each is imported on first use, so a worker loads only the ML code of
 * the modules it runs (tfjs or ONNX Runtime, never both unless asked), and a page may read this
 * table without loading any.
 */
export const MODULE_TYPES: Readonly<Record<string, ModuleType>> = Object.freeze({
  'tabular-classifier': {
    id: 'tabular-classifier',
    framework: 'tfjs',
    trainable: true,
    load: () => import('./tabular-classifier.ts').then((m) => m.tabularClassifier),
  },
  'tabular-regressor': {
    id: 'tabular-regressor',
    framework: 'tfjs',
    trainable: true,
    load: () => import('./tabular-regressor.ts').then((m) => m.tabularRegressor),
  },
  'tfjs-import': {
    id: 'tfjs-import',
    framework: 'tfjs',
    trainable: false,
    load: () => import('./tfjs-import.ts').then((m) => m.tfjsImport),
  },
  'onnx-import': {
    id: 'onnx-import',
    framework: 'onnx',
    trainable: false,
    load: () => import('./onnx-import.ts').then((m) => m.onnxImport),
  },
});

/** The id of every module type, in `MODULE_TYPES` order: what error messages list as the known modules. */
export const MODULE_IDS: readonly string[] = Object.freeze(Object.keys(MODULE_TYPES));

/** The module with this id, its code loaded; `unknown-module` when there is none. */
export async function loadModule(id: string): Promise<Module> {
  const type = Object.hasOwn(MODULE_TYPES, id) ? MODULE_TYPES[id] : undefined;
  if (!type) {
    throw new HangarError(ErrorCode.UnknownModule, `There is no module "${id}"; known modules: ${MODULE_IDS.join(', ')}.`, {
      module: id,
      known: MODULE_IDS,
    });
  }
  return type.load();
}

/** The trainable module with this id: `invalid-argument` for an import-only one. */
export async function loadTrainableModule(id: string): Promise<Module & Pick<Required<Module>, 'train'>> {
  const module = await loadModule(id);
  if (!module.train) {
    const trainable = MODULE_IDS.filter((known) => MODULE_TYPES[known]!.trainable);
    throw new HangarError(ErrorCode.InvalidArgument, `The module "${id}" cannot train; modules that train: ${trainable.join(', ')}.`, {
      module: id,
      trainable,
    });
  }
  return module as Module & Pick<Required<Module>, 'train'>;
}
