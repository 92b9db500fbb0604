import 'fake-indexeddb/auto';
import { afterEach, describe, expect, it } from 'vitest';
import { openRegistry, type Hangar } from '../index.ts';
import { Job } from './job.ts';
import { FactoryRegistry, finders, initializers, predictors, trainers } from './factories.ts';
import type { Trainer } from './trainer.ts';
import { LruCache } from './cache.ts';
import { frameworkOf, LocalInitializer } from './initializer.ts';

let open: Hangar[] = [];
afterEach(async () => {
  await Promise.all(open.map((h) => h.close()));
  open = [];
});

describe('factories', () => {
  it('have a LOCAL type of each, case-insensitive', () => {
    for (const registry of [finders, initializers, trainers, predictors]) {
      expect(registry.has('local')).toBe(true);
      expect(registry.has('LOCAL')).toBe(true);
    }
  });

  it('refuses an unknown type naming the known ones, and a malformed type name', () => {
    const things = new FactoryRegistry<number>('widget');
    things.register('Local', () => 1);
    things.register('other', () => 2);
    expect(() => things.create('nope', {} as never)).toThrow('Unknown widget type "nope": the known types are "local", "other".');
    expect(() => things.register('no spaces', () => 3)).toThrow(/not a widget type name/);
    expect(things.create('LOCAL', {} as never)).toBe(1);
  });

  it('plug a new trainer type in without touching callers', async () => {
    const built: string[] = [];
    trainers.register('echo', (ctx): Trainer => {
      built.push(ctx.type);
      return {
        type: ctx.type,
        train: () => new Job<never>(`${ctx.type}:1`, null as never),
        resume: () => Promise.reject(new Error('no')),
        report: () => Promise.reject(new Error('no')),
        get: () => Promise.reject(new Error('no')),
        close: async () => undefined,
      };
    });
    const h = await openRegistry({ name: 'factories', persist: false });
    open.push(h);
    expect(h.trainer('ECHO').train('m', {} as never).id).toBe('echo:1');
    expect(h.trainer('echo')).toBe(h.trainer('Echo'));
    expect(built).toEqual(['echo']);
  });
});

describe('initializer', () => {
  it('gives backend priority per module type, overridable per module', () => {
    const init = new LocalInitializer({ 'tabular-regressor': ['cpu'] });
    expect(init.backendsFor('tabular-classifier')).toEqual(['webgpu', 'webgl', 'wasm', 'cpu']);
    expect(init.backendsFor('onnx-import')).toEqual(['webgpu', 'wasm']);
    expect(init.backendsFor('tabular-regressor')).toEqual(['cpu']);
    expect([frameworkOf('tfjs-import'), frameworkOf('onnx-import'), frameworkOf('something-new')]).toEqual(['tfjs', 'onnx', 'tfjs']);
  });
});

describe('LruCache', () => {
  it('evicts the least recently used entry beyond capacity', () => {
    const cache = new LruCache<string, number>(2);
    expect(cache.set('a', 1)).toEqual([]);
    cache.set('b', 2);
    expect(cache.get('a')).toBe(1);
    expect(cache.set('c', 3)).toEqual(['b']);
    expect(cache.keys()).toEqual(['a', 'c']);
    expect(cache.peek('a')).toBe(1);
    expect(cache.keys()).toEqual(['a', 'c']);
    expect(cache.set('a', 4)).toEqual([]);
    expect(cache.keys()).toEqual(['c', 'a']);
  });
});
