/** The part of `node:crypto` the Worker uses (workerd provides it under `nodejs_compat`). */
declare module 'node:crypto' {
  export interface Hash {
    update(data: Uint8Array): Hash;
    /** A hasher of its own that goes on from the bytes hashed so far. */
    copy(): Hash;
    digest(encoding: 'hex'): string;
  }
  export function createHash(algorithm: 'sha256'): Hash;
}
