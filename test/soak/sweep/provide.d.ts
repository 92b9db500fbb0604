// What vitest.config.ts provides to the sweep (vitest's inject).
declare module 'vitest' {
  export interface ProvidedContext {
    sweepRuns: number;
    sweepSeed: number;
    sweepRoute: string;
    /** Milliseconds after which a route stops early (0: never). */
    sweepRouteMs: number;
  }
}
export {};
