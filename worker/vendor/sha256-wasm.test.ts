import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
// @ts-expect-error: a plain Node script, without types
import { shippedSha256Wasm, WASM_PATH } from '../../scripts/vendor-sha256-wasm.mjs';

it('ships the SHA-256 module of the installed hash-wasm (else run scripts/vendor-sha256-wasm.mjs)', () => {
  expect(Buffer.compare(readFileSync(WASM_PATH), shippedSha256Wasm())).toBe(0);
});
