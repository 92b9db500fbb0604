/** A `.wasm` file imported by the Worker: wrangler uploads it, and the import is the compiled module. */
declare module '*.wasm' {
  const module: WebAssembly.Module;
  export default module;
}
