/**
 * The packed form of a metric segment (DESIGN §3b): up to `LIMITS.metricSegmentPoints` points
 * of one (parent, key), sorted by (step, wallclock, id), as columns in one BLOB.
 *
 *   byte 0        format (1)
 *   varint        n, the number of points
 *   varint        flags: bit 0 set when the ids are kept as strings (see below)
 *   column        steps, as deltas of deltas with runs of zeros folded (`Writer.intColumn`)
 *   column        wallclocks, the same way
 *   ids           canonical lower-case UUIDs: a column of their first 48 bits (a UUIDv7's
 *                 milliseconds), a column of the next 16 bits (its version and sequence), then
 *                 n × 8 bytes as they are (the random part);
 *                 any other id string (upper case): n × (varint length, UTF-8 bytes)
 *   n × 8 bytes   values, Float64 little-endian (exact: NaN never reaches here, -0 stays -0)
 *
 * An svarint is a signed variable-length integer: the first byte holds the sign (bit 6) and
 * six bits of the magnitude, every byte its continuation in bit 7, the next bytes seven bits
 * each. Magnitudes up to 2^53 stay exact (steps and wallclocks are safe integers). A point
 * logged by a client costs 16 to 20 bytes here when its id is a UUIDv7 made at logging time:
 * 8 for the value, 8 for the id's random part, and up to a byte per column for the rest (next
 * to nothing when steps, wallclocks and ids move at a steady pace).
 *
 * Segments written by migration 0009 from the rows of the old `metrics` table are JSON text
 * instead (SQL alone cannot pack floats): `[[id, step, wallclock, "value"], …]` with the value
 * printed with 17 significant digits, which reads back exactly. `decodeSegment` takes both.
 */

export interface SegmentPoint {
  id: string;
  key?: string;
  step: number;
  wallclock: number;
  value: number;
}

const FORMAT = 1;
const CANONICAL = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Orders points as a history does: by step, then wallclock, then id. */
export const comparePoints = (a: SegmentPoint, b: SegmentPoint): number =>
  a.step - b.step || a.wallclock - b.wallclock || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

class Writer {
  private buf = new Uint8Array(256);
  length = 0;
  private ensure(n: number) {
    if (this.length + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.length + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
  }
  byte(b: number) {
    this.ensure(1);
    this.buf[this.length++] = b;
  }
  varint(v: number) {
    this.ensure(8);
    while (v >= 128) {
      this.buf[this.length++] = (v % 128) | 128;
      v = Math.floor(v / 128);
    }
    this.buf[this.length++] = v;
  }
  svarint(v: number) {
    this.ensure(9);
    const negative = v < 0;
    let m = negative ? -v : v;
    const low = m % 64;
    m = Math.floor(m / 64);
    this.buf[this.length++] = (m > 0 ? 128 : 0) | (negative ? 64 : 0) | low;
    if (m > 0) this.varint(m);
  }
  /**
   * A column of safe integers ≥ 0 as deltas of deltas: a run of equal steps (a regular series,
   * ids made at a steady pace) costs two bytes in all. Tokens: a non-zero svarint is the next
   * delta of delta; 0 is followed by a varint (run length − 1) of zero deltas of delta; -0 (the
   * sign bit with no magnitude) is followed by the value itself, for a delta of delta past 2^52
   * that a float could not hold exactly.
   */
  intColumn(values: readonly number[]) {
    let prev = 0;
    let prevDelta = 0;
    let run = 0;
    const flush = () => {
      if (!run) return;
      this.svarint(0);
      this.varint(run - 1);
      run = 0;
    };
    for (const v of values) {
      const d = v - prev;
      const dod = d - prevDelta;
      if (Math.abs(dod) > 2 ** 52) {
        flush();
        this.byte(64);
        this.svarint(v);
      } else if (dod === 0) run++;
      else {
        flush();
        this.svarint(dod);
      }
      prev = v;
      prevDelta = d;
    }
    flush();
  }
  bytes(b: Uint8Array) {
    this.ensure(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
  }
  float64s(values: readonly number[]) {
    this.ensure(values.length * 8);
    const view = new DataView(this.buf.buffer, this.buf.byteOffset + this.length, values.length * 8);
    values.forEach((v, i) => view.setFloat64(i * 8, v, true));
    this.length += values.length * 8;
  }
  done(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

class Reader {
  pos = 0;
  constructor(private readonly buf: Uint8Array) {}
  byte(): number {
    if (this.pos >= this.buf.length) throw new Error('metric segment ends early');
    return this.buf[this.pos++]!;
  }
  varint(): number {
    let v = 0;
    let scale = 1;
    for (;;) {
      const b = this.byte();
      v += (b & 127) * scale;
      if (b < 128) return v;
      scale *= 128;
    }
  }
  svarint(): number {
    const first = this.byte();
    let m = first & 63;
    if (first & 128) m += this.varint() * 64;
    return first & 64 ? -m : m;
  }
  /** The inverse of `Writer.intColumn`. */
  intColumn(n: number): number[] {
    const out = new Array<number>(n);
    let prev = 0;
    let prevDelta = 0;
    let i = 0;
    while (i < n) {
      const t = this.svarint();
      if (Object.is(t, -0)) {
        const v = this.svarint();
        prevDelta = v - prev;
        prev = v;
        out[i++] = v;
      } else if (t === 0) {
        const run = this.varint() + 1;
        if (i + run > n) throw new Error('metric segment run passes its end');
        for (let k = 0; k < run; k++) out[i++] = prev += prevDelta;
      } else {
        prevDelta += t;
        out[i++] = prev += prevDelta;
      }
    }
    return out;
  }
  bytes(n: number): Uint8Array {
    if (this.pos + n > this.buf.length) throw new Error('metric segment ends early');
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** Packs points (sorted by `comparePoints`) into a segment's BLOB. */
export function encodeSegment(points: readonly SegmentPoint[]): Uint8Array {
  const w = new Writer();
  const n = points.length;
  const canonical = points.every((p) => CANONICAL.test(p.id));
  w.byte(FORMAT);
  w.varint(n);
  w.varint(canonical ? 0 : 1);
  w.intColumn(points.map((p) => p.step));
  w.intColumn(points.map((p) => p.wallclock));
  if (canonical) {
    const hex = points.map((p) => p.id.replace(/-/g, ''));
    w.intColumn(hex.map((h) => parseInt(h.slice(0, 12), 16)));
    w.intColumn(hex.map((h) => parseInt(h.slice(12, 16), 16)));
    const rand = new Uint8Array(8);
    for (const h of hex) {
      for (let i = 0; i < 8; i++) rand[i] = parseInt(h.slice(16 + 2 * i, 18 + 2 * i), 16);
      w.bytes(rand);
    }
  } else {
    const enc = new TextEncoder();
    for (const p of points) {
      const b = enc.encode(p.id);
      w.varint(b.length);
      w.bytes(b);
    }
  }
  w.float64s(points.map((p) => p.value));
  return w.done();
}

const hex12 = (v: number) => v.toString(16).padStart(12, '0');
const hex4 = (v: number) => v.toString(16).padStart(4, '0');

/** Unpacks a segment: a BLOB from `encodeSegment`, or the JSON text migration 0009 wrote. */
export function decodeSegment(data: ArrayBuffer | Uint8Array | number[] | string): SegmentPoint[] {
  if (typeof data === 'string') {
    const rows = JSON.parse(data) as [string, number, number, string | number][];
    return rows.map(([id, step, wallclock, value]) => ({ id, step, wallclock, value: Number(value) })).sort(comparePoints);
  }
  const buf = data instanceof Uint8Array ? data : Array.isArray(data) ? Uint8Array.from(data) : new Uint8Array(data);
  const r = new Reader(buf);
  const format = r.byte();
  if (format !== FORMAT) throw new Error(`unknown metric segment format ${format}`);
  const n = r.varint();
  const flags = r.varint();
  const steps = r.intColumn(n);
  const wallclocks = r.intColumn(n);
  const ids = new Array<string>(n);
  if (flags & 1) {
    const dec = new TextDecoder();
    for (let i = 0; i < n; i++) ids[i] = dec.decode(r.bytes(r.varint()));
  } else {
    const ms = r.intColumn(n);
    const mid = r.intColumn(n);
    for (let i = 0; i < n; i++) {
      const b = r.bytes(8);
      const t = hex12(ms[i]!);
      const rand = HEX[b[0]!]! + HEX[b[1]!]! + '-' + HEX[b[2]!]! + HEX[b[3]!]! + HEX[b[4]!]! + HEX[b[5]!]! + HEX[b[6]!]! + HEX[b[7]!]!;
      ids[i] = `${t.slice(0, 8)}-${t.slice(8)}-${hex4(mid[i]!)}-${rand}`;
    }
  }
  const raw = r.bytes(n * 8);
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const out = new Array<SegmentPoint>(n);
  for (let i = 0; i < n; i++) out[i] = { id: ids[i]!, step: steps[i]!, wallclock: wallclocks[i]!, value: view.getFloat64(i * 8, true) };
  return out;
}
