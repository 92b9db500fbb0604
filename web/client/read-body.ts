/** How far a read of bytes has got. */
export interface ByteProgress {
  loaded: number;
  total: number;
}

/** Bytes gathered into one Blob at a time, so a large body never sits whole in the JS heap. */
const GATHER_BYTES = 4 * 1024 * 1024;

/**
 * A response's body as a Blob, reporting bytes read against `Content-Length` (or against what
 * has been read, when the server does not say). Without `onProgress` it is `response.blob()`.
 */
export async function readBody(response: Response, onProgress?: (p: ByteProgress) => void): Promise<Blob> {
  if (!onProgress || !response.body) return response.blob();
  const announced = Number(response.headers.get('content-length'));
  const known = Number.isSafeInteger(announced) && announced > 0;
  const blobs: Blob[] = [];
  let pending: Uint8Array[] = [];
  let pendingBytes = 0;
  let loaded = 0;
  const gather = () => {
    blobs.push(new Blob(pending as Uint8Array<ArrayBuffer>[]));
    pending = [];
    pendingBytes = 0;
  };
  const reader = response.body.getReader();
  onProgress({ loaded: 0, total: known ? announced : 0 });
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    pending.push(value);
    pendingBytes += value.length;
    loaded += value.length;
    if (pendingBytes >= GATHER_BYTES) gather();
    onProgress({ loaded, total: known ? Math.max(announced, loaded) : loaded });
  }
  gather();
  onProgress({ loaded, total: loaded });
  return new Blob(blobs, { type: response.headers.get('content-type') ?? '' });
}
