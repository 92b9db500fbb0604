import { DEFAULT_BACKENDS, type Backend, type ModelFiles, type PredictorWorkerApi } from '../../jobs/protocol.ts';
import type { FactoryContext } from './context.ts';
import type { ModelConfig } from './finder.ts';

/** The runtimes modules are built on. */
export type Framework = keyof typeof DEFAULT_BACKENDS;

/** Module types whose framework is not tfjs; any other module (a new one too) is taken for tfjs. */
const NON_TFJS: Record<string, Framework> = { 'onnx-import': 'onnx' };

/** The framework a module runs on: `onnx` for `onnx-import`, `tfjs` for the tabular modules, `tfjs-import` and any other. */
export function frameworkOf(module: string): Framework {
  return NON_TFJS[module] ?? (module.startsWith('onnx') ? 'onnx' : 'tfjs');
}

/** The part of a worker that loads a model: the predictor worker's `load`. */
export type ModelLoader = Pick<PredictorWorkerApi, 'load'>;

/**
 * Turns a found model into a runnable instance (caikit's initializer). Backends are tried in
 * priority order inside the worker, which falls back to the next when one fails to start and
 * answers the one it used; the initializer picks the list and passes it on.
 */
export interface Initializer {
  /** The backends to try for a module, in order. */
  backendsFor(module: string): Backend[];
  /** Loads the files in a worker under `key`; answers the backend in use. */
  initialize(loader: ModelLoader, key: string, config: ModelConfig, files: ModelFiles): Promise<{ backend: Backend }>;
}

/** LOCAL: the registry's per-module priorities (`jobs.backends`), else its framework's defaults. */
export class LocalInitializer implements Initializer {
  constructor(private readonly overrides: Record<string, Backend[]> = {}) {}

  backendsFor(module: string): Backend[] {
    return [...(this.overrides[module] ?? DEFAULT_BACKENDS[frameworkOf(module)])];
  }

  initialize(loader: ModelLoader, key: string, config: ModelConfig, files: ModelFiles): Promise<{ backend: Backend }> {
    return loader.load(key, config.module, files, this.backendsFor(config.module));
  }
}

/** The LOCAL initializer's factory. */
export const localInitializer = (ctx: FactoryContext): Initializer => new LocalInitializer(ctx.settings.backends);
