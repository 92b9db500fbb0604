/** Formats 16 bytes as a UUID string. */
function formatUuid(b: Uint8Array): string {
  const hex = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

let lastMs = -1;
let sequence = 0;

/**
 * A UUIDv7: 48 bits of Unix milliseconds, a 12-bit sequence, then random bits. Ids sort by
 * creation time, and (RFC 9562's counter method) ids made in one realm within the same
 * millisecond still sort in the order they were made. They need no server, so any device
 * can create entities offline.
 */
export function uuidv7(now = Date.now()): string {
  let ms = Math.max(now, lastMs);
  if (ms === lastMs) {
    sequence++;
    if (sequence > 0xfff) {
      ms++;
      sequence = 0;
    }
  } else {
    sequence = 0;
  }
  lastMs = ms;
  const b = crypto.getRandomValues(new Uint8Array(16));
  for (let i = 5; i >= 0; i--) {
    b[i] = ms % 256;
    ms = Math.floor(ms / 256);
  }
  b[6] = 0x70 | (sequence >> 8);
  b[7] = sequence & 0xff;
  b[8] = ((b[8] ?? 0) & 0x3f) | 0x80;
  return formatUuid(b);
}

/** Lower-case hex of bytes. */
export function toHex(bytes: ArrayBuffer | Uint8Array): string {
  return Array.from(bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes), (x) => x.toString(16).padStart(2, '0')).join('');
}

/** SHA-256 of a string or bytes, as lower-case hex. */
export async function sha256Hex(data: string | Uint8Array): Promise<string> {
  // Digest takes views of plain ArrayBuffers; ours never wrap a SharedArrayBuffer.
  const bytes = (typeof data === 'string' ? new TextEncoder().encode(data) : data) as Uint8Array<ArrayBuffer>;
  return toHex(await crypto.subtle.digest('SHA-256', bytes));
}

/**
 * A model's id, derived from its namespace and name (a UUIDv8 over SHA-256), so two devices
 * that create the same model offline create the same model.
 */
export async function modelId(namespace: string, name: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(`hangar:model:${namespace}/${name}`)));
  const b = digest.slice(0, 16);
  b[6] = ((b[6] ?? 0) & 0x0f) | 0x80;
  b[8] = ((b[8] ?? 0) & 0x3f) | 0x80;
  return formatUuid(b);
}
