// Vite turns `import url from './file.wasm?url'` into the file's served (and, in a build,
// emitted) URL. Declared here rather than pulling all of `vite/client` into web/.
declare module '*?url' {
  const url: string;
  export default url;
}
