/** Bytes of a string in UTF-8. */
export const utf8Length = (s: string): number => new TextEncoder().encode(s).length;

/** base64url of a (Latin-1 / ASCII) string, unpadded: page tokens and the like. */
export const b64url = (s: string): string => btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');

/** The inverse of `b64url`; throws on malformed input. */
export const unb64url = (s: string): string => atob(s.replace(/-/g, '+').replace(/_/g, '/'));

/**
 * How deeply a value nests arrays and objects (a scalar is 0), walked without recursion, so
 * a hostile value cannot overflow the stack; stops counting past `limit`.
 */
export function jsonDepth(value: unknown, limit: number): number {
  let deepest = 0;
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length) {
    const [v, depth] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    const d = depth + 1;
    if (d > deepest) deepest = d;
    if (deepest > limit) return deepest;
    for (const child of Array.isArray(v) ? v : Object.values(v)) stack.push([child, d]);
  }
  return deepest;
}
