import { z } from 'zod';
import type { CreateModel } from '../../../shared/models.ts';
import { parseWith } from '../../../shared/validate.ts';
import { DEFAULT_BACKENDS, type Backend } from '../../jobs/protocol.ts';
import type { ClientContext } from '../context.ts';
import type { ModelHandle } from '../model.ts';
import type { VersionHandle } from '../version.ts';
import type { Finder } from './finder.ts';
import type { Initializer } from './initializer.ts';
import type { JobRecords } from './records.ts';

/** Options of jobs, given as `openRegistry({ jobs: { … } })`. */
export interface JobsOptions {
  /**
   * Finished and interrupted jobs are purged this long after they end (an interrupted job: after
   * it was stopped, or found stopped on open), on open, after a job ends and every quarter of this
   * (at least a minute) while the registry is open. Resume an interrupted job within it. Default 24 h.
   */
  retentionMs?: number;
  /** Training jobs running at once per trainer; the rest wait in a queue. Default 2. */
  concurrency?: number;
  /** A training job saves a checkpoint every this many epochs unless it says otherwise (0: never). Default 5. */
  checkpointEvery?: number;
  /** Models a predictor keeps loaded (an LRU keyed by resolved version). Default 4. */
  modelCacheSize?: number;
  /** The shared predictor worker stops after this long with nothing to do. Default 60 s. */
  predictorIdleMs?: number;
  /** Backend priority per module type, over the defaults of its framework (`DEFAULT_BACKENDS`). */
  backends?: Record<string, Backend[]>;
  /** The finder and initializer types trainers and predictors use. Default `local`. */
  finder?: string;
  initializer?: string;
}

/** `JobsOptions` with every default filled in. */
export type JobsSettings = Required<JobsOptions>;

/** A backend name: any that some framework runs on (`DEFAULT_BACKENDS`). */
export const backendSchema = z.enum([...new Set(Object.values(DEFAULT_BACKENDS).flat())] as [Backend, ...Backend[]]);

const optionsSchema = z.object({
  retentionMs: z.number().int().min(0).optional(),
  concurrency: z.number().int().min(1).max(64).optional(),
  checkpointEvery: z.number().int().min(0).optional(),
  modelCacheSize: z.number().int().min(1).max(1024).optional(),
  predictorIdleMs: z.number().int().min(0).optional(),
  backends: z.record(z.string(), z.array(backendSchema).min(1)).optional(),
  finder: z.string().min(1).optional(),
  initializer: z.string().min(1).optional(),
});

/** Checks `openRegistry`'s job options (`invalid-argument` naming what is wrong) and fills in defaults. */
export function jobsSettings(options: JobsOptions = {}): JobsSettings {
  const o = parseWith(optionsSchema, options, 'job options');
  return {
    retentionMs: o.retentionMs ?? 24 * 60 * 60 * 1000,
    concurrency: o.concurrency ?? 2,
    checkpointEvery: o.checkpointEvery ?? 5,
    modelCacheSize: o.modelCacheSize ?? 4,
    predictorIdleMs: o.predictorIdleMs ?? 60_000,
    backends: o.backends ?? {},
    finder: o.finder ?? 'local',
    initializer: o.initializer ?? 'local',
  };
}

/** What jobs need of the registry (the `Hangar` instance). */
export interface RegistryApi {
  find(ref: string): Promise<VersionHandle>;
  model(namespace: string, name: string): Promise<ModelHandle>;
  newModel(input: CreateModel & { namespace: string }): Promise<ModelHandle>;
}

/** What a factory gets to build a finder, initializer, trainer or predictor of one registry. */
export interface FactoryContext {
  /** The type name being built, lower-cased: the prefix of its jobs' ids. */
  type: string;
  client: ClientContext;
  registry: RegistryApi;
  records: JobRecords;
  settings: JobsSettings;
  /** The registry's finder and initializer (of the configured types). */
  finder(): Finder;
  initializer(): Initializer;
  /** Called when a job ends, so finished jobs past retention are purged. */
  jobEnded(): void;
}
