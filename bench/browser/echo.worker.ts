// The substrate of a prediction round trip (jobs.ts): a module Web Worker that answers every
// message with 16 float32 values (a prediction's size), transferred. No Comlink, no tfjs: what
// postMessage and the structured clone of the input cost alone.
self.onmessage = (event: MessageEvent<{ id: number; input: unknown }>) => {
  const out = new Float32Array(16);
  self.postMessage({ id: event.data.id, out }, { transfer: [out.buffer] });
};
