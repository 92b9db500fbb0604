import Dexie from 'dexie';
import type { HangarDb, MetricCellsRecord } from './db.ts';

/**
 * Per-level summaries of a series' points ("cells"), so a chart reads about one stored entry per
 * bucket it draws instead of every point (DESIGN §7). A cell of level L holds the points with
 * steps in [c × 2^L, (c + 1) × 2^L): their count, the min and max of their values and their
 * last point's step, wallclock and value. History buckets have a power-of-two width with edges
 * at its multiples (shared/downsample.ts), so a bucket of width w ≥ 2^L is a union of level-L
 * cells; only the ends of a range that cut a cell are read from the segments.
 *
 * Levels are the log2 of their cell width, every 2nd power of two from 16 steps up to 2^52: a
 * bucket is 1, 2 or 4 cells of the coarsest level that fits in it (a chart of N buckets reads at
 * most 4 N cells), and a dense series (a point per step) has about one cell per 12 points, all
 * levels together. Widths under 16 steps are read from the segments: such a range spans fewer
 * than 16 × maxPoints steps.
 */
export const CELL_LEVELS: readonly number[] = Array.from({ length: 25 }, (_, i) => 4 + 2 * i);

/**
 * Cells per stored record (`metricCells`) at most: a level's cells that hold points, in order,
 * split into records of up to this many, each keyed by its first cell. So a sparse series (steps
 * far apart: about a cell per point) costs no more records than a dense one, and appending
 * points rewrites only the last record of each level.
 */
export const BLOCK_CELLS = 1024;

/** The coarsest level whose cells fit in a bucket of `width` (a power of two), or undefined under the finest. */
export function cellLevelFor(width: number): number | undefined {
  let best: number | undefined;
  for (const L of CELL_LEVELS) if (2 ** L <= width) best = L;
  return best;
}

/** A cell record being changed: its columns as plain arrays, `cell` ascending; `stored` its key's first cell when read. */
interface Block {
  stored?: number;
  cell: number[];
  count: number[];
  min: number[];
  max: number[];
  last: number[];
  lastStep: number[];
  lastWallclock: number[];
}

const emptyBlock = (): Block => ({ cell: [], count: [], min: [], max: [], last: [], lastStep: [], lastWallclock: [] });

function open(r: MetricCellsRecord): Block {
  return {
    stored: r.first,
    cell: Array.from(r.cell),
    count: Array.from(r.count),
    min: Array.from(r.min),
    max: Array.from(r.max),
    last: Array.from(r.last),
    lastStep: Array.from(r.lastStep),
    lastWallclock: Array.from(r.lastWallclock),
  };
}

/** A block's cells [from, to) as a record. */
function seal(parentId: string, key: string, level: number, b: Block, from: number, to: number): MetricCellsRecord {
  const col = (c: number[]) => Float64Array.from(c.slice(from, to));
  return {
    parentId,
    key,
    level,
    first: b.cell[from]!,
    cell: col(b.cell),
    count: col(b.count),
    min: col(b.min),
    max: col(b.max),
    last: col(b.last),
    lastStep: col(b.lastStep),
    lastWallclock: col(b.lastWallclock),
  };
}

/** A level's blocks as records of at most BLOCK_CELLS cells, and the stored keys they no longer use. */
function sealLevel(parentId: string, key: string, level: number, blocks: Block[]): { put: MetricCellsRecord[]; gone: [string, string, number, number][] } {
  const put: MetricCellsRecord[] = [];
  const gone: [string, string, number, number][] = [];
  for (const b of blocks) {
    if (!b.cell.length) continue;
    for (let i = 0; i < b.cell.length; i += BLOCK_CELLS) put.push(seal(parentId, key, level, b, i, Math.min(b.cell.length, i + BLOCK_CELLS)));
    if (b.stored !== undefined && b.stored !== b.cell[0]) gone.push([parentId, key, level, b.stored]);
  }
  return { put, gone };
}

/** The position of `cell` in a block, the cell added (empty) where missing. */
function slot(b: Block, cell: number): number {
  const n = b.cell.length;
  // Points come in step order, so the cell is most often the last one or a new last one.
  if (n > 0 && b.cell[n - 1] === cell) return n - 1;
  let i = n;
  if (n > 0 && b.cell[n - 1]! > cell) {
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (b.cell[mid]! < cell) lo = mid + 1;
      else hi = mid;
    }
    if (b.cell[lo] === cell) return lo;
    i = lo;
  }
  b.cell.splice(i, 0, cell);
  b.count.splice(i, 0, 0);
  b.min.splice(i, 0, Infinity);
  b.max.splice(i, 0, -Infinity);
  b.last.splice(i, 0, 0);
  b.lastStep.splice(i, 0, -1);
  b.lastWallclock.splice(i, 0, -Infinity);
  return i;
}

/** A point as cells take it in. */
export interface CellPoint {
  step: number;
  wallclock: number;
  value: number;
}

/** A cell whose last point ties a point added on (step, wallclock): which of them is last goes by id. */
interface Tie {
  block: Block;
  cell: number;
  step: number;
  wallclock: number;
}

/**
 * Folds points (in step order) into one level's cells, held in `blocks` (in cell order; a cell
 * goes to the last block that starts at or before it, else the first, else a new one). A point
 * later than a cell's last on (step, wallclock) becomes its last; one that ties it is reported,
 * as the order then goes by id, which cells do not keep.
 */
function fold(blocks: Block[], level: number, points: readonly CellPoint[], ties?: Tie[]): void {
  const width = 2 ** level;
  let current = NaN;
  let j = 0;
  let i = -1;
  if (!blocks.length) blocks.push(emptyBlock());
  for (const p of points) {
    const c = Math.floor(p.step / width);
    if (c !== current) {
      current = c;
      while (j + 1 < blocks.length && blocks[j + 1]!.cell[0]! <= c) j++;
      i = slot(blocks[j]!, c);
    }
    const b = blocks[j]!;
    b.count[i]!++;
    if (p.value < b.min[i]!) b.min[i] = p.value;
    if (p.value > b.max[i]!) b.max[i] = p.value;
    const ls = b.lastStep[i]!;
    const lw = b.lastWallclock[i]!;
    if (p.step > ls || (p.step === ls && p.wallclock >= lw)) {
      if (ties && p.step === ls && p.wallclock === lw) {
        const t = ties[ties.length - 1];
        if (!t || t.block !== b || t.cell !== c || t.step !== p.step || t.wallclock !== p.wallclock) ties.push({ block: b, cell: c, step: p.step, wallclock: p.wallclock });
      }
      b.last[i] = p.value;
      b.lastStep[i] = p.step;
      b.lastWallclock[i] = p.wallclock;
    }
  }
}

/**
 * Builds a series' cell records from all its points, in point order (step, wallclock, id): the
 * Dexie version 7 upgrade, and a series made again after points were removed.
 */
export function buildCells(parentId: string, key: string, points: readonly CellPoint[]): MetricCellsRecord[] {
  if (!points.length) return [];
  const out: MetricCellsRecord[] = [];
  for (const level of CELL_LEVELS) {
    const blocks: Block[] = [];
    fold(blocks, level, points);
    out.push(...sealLevel(parentId, key, level, blocks).put);
  }
  return out;
}

const levelRange = (db: HangarDb, parentId: string, key: string, level: number, lo: unknown, hi: unknown, loOpen = false, hiOpen = false) =>
  db.metricCells.where('[parentId+key+level+first]').between([parentId, key, level, lo], [parentId, key, level, hi], !loOpen, !hiOpen);

/** The records of a level that may hold cells in [lo, hi]: the last starting before lo, and every one starting in [lo, hi]. */
async function recordsCovering(db: HangarDb, parentId: string, key: string, level: number, lo: number, hi: number): Promise<MetricCellsRecord[]> {
  const [head, rest] = await Promise.all([levelRange(db, parentId, key, level, Dexie.minKey, lo, false, true).last(), levelRange(db, parentId, key, level, lo, hi).toArray()]);
  return head ? [head, ...rest] : rest;
}

/** A series' cell records. */
export const seriesCells = (db: HangarDb, parentId: string, key: string) =>
  db.metricCells.where('[parentId+key+level+first]').between([parentId, key], [parentId, key, []]);

/** Every cell record of a parent, all keys. */
export const parentCells = (db: HangarDb, parentId: string) => db.metricCells.where('[parentId+key+level+first]').between([parentId], [parentId, []]);

/**
 * Inside a transaction over the metric tables, after the segments took them: adds points (in
 * step order) to the series' cells, reading and writing at each level only the records their
 * cells fall in (appended points: the last one). Where a point ties a cell's last on (step,
 * wallclock), `lastAt` gives the value of the last of the stored points at that step and wallclock.
 */
export async function addToCells(
  db: HangarDb,
  parentId: string,
  key: string,
  points: readonly CellPoint[],
  lastAt: (step: number, wallclock: number) => Promise<number>,
): Promise<void> {
  if (!points.length) return;
  const lo = points[0]!.step;
  const hi = points[points.length - 1]!.step;
  const stored = await Promise.all(CELL_LEVELS.map((level) => recordsCovering(db, parentId, key, level, Math.floor(lo / 2 ** level), Math.floor(hi / 2 ** level))));
  const ties: Tie[] = [];
  const levels = CELL_LEVELS.map((level, n) => {
    const blocks = stored[n]!.map(open);
    fold(blocks, level, points, ties);
    return { level, blocks };
  });
  const resolved = new Map<string, number>();
  for (const t of ties) {
    const i = slot(t.block, t.cell);
    // A later point may have become the cell's last since.
    if (t.block.lastStep[i] !== t.step || t.block.lastWallclock[i] !== t.wallclock) continue;
    const k = `${t.step}:${t.wallclock}`;
    if (!resolved.has(k)) resolved.set(k, await lastAt(t.step, t.wallclock));
    t.block.last[i] = resolved.get(k)!;
  }
  const put: MetricCellsRecord[] = [];
  const gone: [string, string, number, number][] = [];
  for (const { level, blocks } of levels) {
    const sealed = sealLevel(parentId, key, level, blocks);
    put.push(...sealed.put);
    gone.push(...sealed.gone);
  }
  if (gone.length) await db.metricCells.bulkDelete(gone);
  await db.metricCells.bulkPut(put);
}

/** Inside a transaction over the metric tables: a series' cells made again from all its points (in point order). */
export async function rebuildCells(db: HangarDb, parentId: string, key: string, points: readonly CellPoint[]): Promise<void> {
  await seriesCells(db, parentId, key).delete();
  const records = buildCells(parentId, key, points);
  if (records.length) await db.metricCells.bulkPut(records);
}

/** A summarized run of points, as `StepBucketer.addSummary` takes it. */
export interface CellSummary {
  lastStep: number;
  lastWallclock: number;
  last: number;
  min: number;
  max: number;
}

/**
 * Calls `each` for the level-`level` cells c in [lo, hi] of a series that hold points, in
 * step order, reading only the records that hold them (inside the caller's transaction).
 */
export async function eachCell(db: HangarDb, parentId: string, key: string, level: number, lo: number, hi: number, each: (c: CellSummary) => void): Promise<void> {
  const records = await recordsCovering(db, parentId, key, level, lo, hi);
  const cell: CellSummary = { lastStep: 0, lastWallclock: 0, last: 0, min: 0, max: 0 };
  for (const r of records) {
    for (let i = 0; i < r.cell.length; i++) {
      const c = r.cell[i]!;
      if (c < lo || c > hi || r.count[i] === 0) continue;
      cell.lastStep = r.lastStep[i]!;
      cell.lastWallclock = r.lastWallclock[i]!;
      cell.last = r.last[i]!;
      cell.min = r.min[i]!;
      cell.max = r.max[i]!;
      each(cell);
    }
  }
}

/** Cell records as one row per cell, by level then cell, whatever records hold them (tests and tools). */
export function flattenCells(records: readonly MetricCellsRecord[]): number[][] {
  const rows: number[][] = [];
  for (const r of records) for (let i = 0; i < r.cell.length; i++) rows.push([r.level, r.cell[i]!, r.count[i]!, r.min[i]!, r.max[i]!, r.last[i]!, r.lastStep[i]!, r.lastWallclock[i]!]);
  return rows.sort((a, b) => a[0]! - b[0]! || a[1]! - b[1]!);
}
