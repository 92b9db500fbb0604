import { ErrorCode, HangarError } from '../../shared/errors.ts';

/**
 * DESIGN §4's guard on webhook URLs: http(s) only, no credentials in the URL, and in
 * production no private, loopback, link-local or otherwise internal address, so a webhook
 * cannot be used to reach the inside of a network. Local development (`npm start`, the tests)
 * sets `WEBHOOK_PRIVATE_ADDRESSES = "allow"` so a receiver on a laptop can be tried.
 * Returns the reason a URL is refused, or null when it may be called.
 */
export function webhookUrlProblem(raw: string, allowPrivate: boolean): string | null {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'it is not a URL';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'only http and https URLs are allowed';
  if (url.username || url.password) return 'a URL may not carry credentials';
  if (allowPrivate) return null;
  const host = url.hostname.toLowerCase().replace(/\.$/, '');
  if (host === 'localhost' || host.endsWith('.localhost')) return 'loopback addresses are refused';
  if (/\.(local|internal|intranet|lan|home|corp)$/.test(host) || !host.includes('.') && !host.startsWith('[')) {
    return 'internal host names are refused';
  }
  const v4 = parseIPv4(host);
  if (v4) return privateIPv4(v4) ? 'private and loopback addresses are refused' : null;
  if (host.startsWith('[')) return privateIPv6(host.slice(1, -1)) ? 'private and loopback addresses are refused' : null;
  return null;
}

/** Throws `invalid-argument` when the URL may not be a webhook here. */
export function checkWebhookUrl(raw: string, allowPrivate: boolean): void {
  const problem = webhookUrlProblem(raw, allowPrivate);
  if (problem) throw new HangarError(ErrorCode.InvalidArgument, `This webhook URL is refused: ${problem}.`, { url: raw, reason: problem });
}

/** Whether the Worker's vars allow private addresses (local development and the tests). */
export const allowsPrivate = (env: { WEBHOOK_PRIVATE_ADDRESSES?: string }) => env.WEBHOOK_PRIVATE_ADDRESSES === 'allow';

/** Dotted quad (the URL parser has already turned `0x7f.1`, `2130706433` and the like into one). */
function parseIPv4(host: string): number[] | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
  if (!m) return null;
  const parts = m.slice(1).map(Number);
  return parts.every((p) => p <= 255) ? parts : null;
}

function privateIPv4([a, b]: number[]): boolean {
  return (
    a === 0 || // "this" network
    a === 10 ||
    a === 127 ||
    (a === 100 && b! >= 64 && b! <= 127) || // carrier-grade NAT
    (a === 169 && b === 254) || // link-local, cloud metadata
    (a === 172 && b! >= 16 && b! <= 31) ||
    (a === 192 && b === 168) ||
    (a === 192 && b === 0) || // IETF protocol assignments
    (a === 198 && (b === 18 || b === 19)) || // benchmarking
    a! >= 224 // multicast, reserved, broadcast
  );
}

function privateIPv6(host: string): boolean {
  const h = host.toLowerCase();
  if (h === '::' || h === '::1') return true;
  // IPv4-mapped and -translated addresses (`::ffff:7f00:1` is 127.0.0.1).
  const mapped = /^::ffff:(?:0:)?([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(h);
  if (mapped) {
    const hi = parseInt(mapped[1]!, 16);
    const lo = parseInt(mapped[2]!, 16);
    return privateIPv4([hi >> 8, hi & 255, lo >> 8, lo & 255]);
  }
  const first = parseInt(h.split(':')[0] || '0', 16);
  return (
    (first & 0xfe00) === 0xfc00 || // unique local fc00::/7
    (first & 0xffc0) === 0xfe80 || // link-local fe80::/10
    (first & 0xff00) === 0xff00 || // multicast
    h.startsWith('64:ff9b:') // NAT64 can reach any IPv4 address
  );
}
