// Writes worker/vendor/sha256.wasm: hash-wasm's SHA-256 (MIT, © Dani Biro) as the package ships
// it, base64 inside its UMD build. Workers may not compile wasm at run time, so the Worker imports
// the module file and wrangler uploads it compiled. Run after upgrading hash-wasm; a unit test
// fails while the file differs from the package's.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const WASM_PATH = fileURLToPath(new URL('../worker/vendor/sha256.wasm', import.meta.url));

/** The module's bytes as the installed hash-wasm holds them. */
export function shippedSha256Wasm() {
  const umd = readFileSync(fileURLToPath(import.meta.resolve('hash-wasm/dist/sha256.umd.min.js')), 'utf8');
  const found = /name:"sha256",data:"([A-Za-z0-9+/=]+)"/.exec(umd);
  if (!found) throw new Error('hash-wasm/dist/sha256.umd.min.js no longer embeds its module as name:"sha256",data:"…"');
  return Buffer.from(found[1], 'base64');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(WASM_PATH, shippedSha256Wasm());
  console.log(`wrote ${WASM_PATH}`);
}
