// shared/ compiles with ES2022 alone, so no DOM and no Workers types leak in. These are the
// few platform globals it uses, which browsers, Web Workers and workerd all provide. The
// worker and web configs leave this file out and get the real declarations from their libs.
declare class TextEncoder {
  encode(input?: string): Uint8Array<ArrayBuffer>;
}
declare const crypto: {
  getRandomValues<T extends ArrayBufferView | null>(array: T): T;
  randomUUID(): string;
  subtle: { digest(algorithm: string, data: ArrayBufferView | ArrayBuffer): Promise<ArrayBuffer> };
};
declare function btoa(data: string): string;
declare function atob(data: string): string;
