import { ErrorCode, HangarError } from '../../../shared/errors.ts';
import type { ModelFiles } from '../../jobs/protocol.ts';
import type { VersionHandle } from '../version.ts';
import type { FactoryContext, RegistryApi } from './context.ts';
import { frameworkOf, type Framework } from './initializer.ts';
import { readModelFiles } from './models.ts';

/** A version resolved for running: which version, which module runs it, and its files on demand. */
export interface ModelConfig {
  /** The reference as given (`team/iris@production`). */
  ref: string;
  /** The version it resolved to; its id keys the model cache. */
  version: VersionHandle;
  /** The module that runs its files (the version's `module` metadata). */
  module: string;
  framework: Framework;
  /** Reads the version's model files (not needed when the model is already loaded). */
  files(): Promise<ModelFiles>;
}

/** Turns a reference (`ns/m@alias`, `ns/m/3`, `ns/m`) into a model config (caikit's finder). */
export interface Finder {
  find(ref: string): Promise<ModelConfig>;
}

/**
 * LOCAL: looks in this browser's registry. The module comes from the version's `module`
 * metadata, which training and `importModelFiles` set; a version without it has nothing to run.
 */
export class LocalFinder implements Finder {
  constructor(private readonly registry: RegistryApi) {}

  async find(ref: string): Promise<ModelConfig> {
    const version = await this.registry.find(ref);
    const module = (await version.metadata()).module;
    if (typeof module !== 'string' || !module) {
      throw new HangarError(
        ErrorCode.InvalidArgument,
        `Version ${version.number} of "${version.model}" names no module to run it: train it with a trainer, or register its files with importModelFiles.`,
        { ref },
      );
    }
    return { ref, version, module, framework: frameworkOf(module), files: () => readModelFiles(version) };
  }
}

/** The LOCAL finder's factory. */
export const localFinder = (ctx: FactoryContext): Finder => new LocalFinder(ctx.registry);
