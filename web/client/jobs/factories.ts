import { ErrorCode, HangarError } from '../../../shared/errors.ts';
import type { FactoryContext } from './context.ts';
import { localFinder, type Finder } from './finder.ts';
import { localInitializer, type Initializer } from './initializer.ts';
import { localPredictor, type Predictor } from './predictor.ts';
import { localTrainer, type Trainer } from './trainer.ts';
import { remoteTrainer } from './remote.ts';

/** Builds one kind of thing for a registry. */
export type Factory<T> = (ctx: FactoryContext) => T;

/** Type names are case-insensitive (`LOCAL` is `local`) and, for trainers and predictors, prefix job ids. */
const TYPE = /^[a-z][a-z0-9-]{0,31}$/;

/**
 * Factories keyed by type name (caikit's config-driven factories): a new type is registered
 * once and callers name it (`hangar.trainer('remote')`) without any other change.
 */
export class FactoryRegistry<T> {
  private readonly factories = new Map<string, Factory<T>>();

  constructor(
    /** What it builds, for messages: `trainer`. */
    readonly kind: string,
  ) {}

  /** The canonical form of a type name, or `invalid-argument`. */
  normalize(type: string): string {
    const name = typeof type === 'string' ? type.toLowerCase() : '';
    if (!TYPE.test(name)) {
      throw new HangarError(ErrorCode.InvalidArgument, `"${String(type)}" is not a ${this.kind} type name: use letters, digits and "-", starting with a letter.`, {
        type,
      });
    }
    return name;
  }

  /** Registers (or replaces) the factory of a type. */
  register(type: string, factory: Factory<T>): void {
    this.factories.set(this.normalize(type), factory);
  }

  /** Whether a factory is registered under `type` (case-insensitive); false for anything that is not a string. */
  has(type: string): boolean {
    return typeof type === 'string' && this.factories.has(type.toLowerCase());
  }

  /** The registered type names. */
  types(): string[] {
    return [...this.factories.keys()].sort();
  }

  /** Builds a `type`; an unknown one is `invalid-argument` naming the known types. */
  create(type: string, ctx: Omit<FactoryContext, 'type'>): T {
    const name = this.normalize(type);
    const factory = this.factories.get(name);
    if (!factory) {
      throw new HangarError(ErrorCode.InvalidArgument, `Unknown ${this.kind} type "${type}": the known types are ${this.types().map((t) => `"${t}"`).join(', ')}.`, {
        type,
        known: this.types(),
      });
    }
    return factory({ ...ctx, type: name });
  }
}

/** Finders: a reference → a version config. `local` looks in this browser's registry. */
export const finders = new FactoryRegistry<Finder>('finder');
/** Initializers: a version config → a loaded model, trying backends in priority order. */
export const initializers = new FactoryRegistry<Initializer>('initializer');
/** Trainers: `hangar.trainer(type)`. `local` trains in Web Workers of this page; `remote` follows runs that train elsewhere. */
export const trainers = new FactoryRegistry<Trainer>('trainer');
/** Predictors: `hangar.predictor(type)`. `local` predicts in a Web Worker of this page. */
export const predictors = new FactoryRegistry<Predictor>('predictor');

finders.register('local', localFinder);
initializers.register('local', localInitializer);
trainers.register('local', localTrainer);
// Runs that train elsewhere (MLflow runs synced in), followed as jobs: web/client/jobs/remote.ts.
trainers.register('remote', remoteTrainer);
predictors.register('local', localPredictor);
