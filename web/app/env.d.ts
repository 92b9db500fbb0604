// What Vite puts on import.meta in the app (web/tsconfig.json does not load vite/client's types).
interface ImportMetaEnv {
  readonly DEV: boolean;
}
interface ImportMeta {
  readonly env: ImportMetaEnv;
}

// `import text from './x.css?inline'`: the file's text, for styles inside a shadow root.
declare module '*?inline' {
  const text: string;
  export default text;
}
