import type { HangarDb, MetricCellsRecord } from './db.ts';

/**
 * Per-level summaries of a series' points ("cells"), so a chart reads about one stored entry per
 * bucket it draws instead of every point (DESIGN §7). A cell of level L holds the points with
 * steps in [c × 2^L, (c + 1) × 2^L): their count, the min and max of their values and their
 * last point's step, wallclock and value. History buckets have a power-of-two width with edges
 * at its multiples (shared/downsample.ts), so a bucket of width w ≥ 2^L is a union of level-L
 * cells; only the ends of a range that cut a cell are read from the segments.
 *
 * Levels are the log2 of their cell width, every 4th power of two from 16 steps: a bucket is at
 * most 16 cells of the level below it (a chart of N buckets reads at most 16 N cells, most
 * often 1–8 N), and the cells of a dense series add about 1/15 of a record per point. Widths
 * under 16 steps are read from the segments: such a range spans fewer than 16 × maxPoints steps.
 */
export const CELL_LEVELS: readonly number[] = Array.from({ length: 13 }, (_, i) => 4 * (i + 1));

/** Cells per stored record (`metricCells`): a level's cells c with ⌊c / BLOCK_CELLS⌋ = block, only those that hold points. */
export const BLOCK_CELLS = 1024;

/** The coarsest level whose cells fit in a bucket of `width` (a power of two), or undefined under the finest. */
export function cellLevelFor(width: number): number | undefined {
  let best: number | undefined;
  for (const L of CELL_LEVELS) if (2 ** L <= width) best = L;
  return best;
}

/** A cell block being changed: its columns as plain arrays, its cells in ascending `at`. */
interface Block {
  parentId: string;
  key: string;
  level: number;
  block: number;
  at: number[];
  count: number[];
  min: number[];
  max: number[];
  last: number[];
  lastStep: number[];
  lastWallclock: number[];
}

const emptyBlock = (parentId: string, key: string, level: number, block: number): Block => ({
  parentId,
  key,
  level,
  block,
  at: [],
  count: [],
  min: [],
  max: [],
  last: [],
  lastStep: [],
  lastWallclock: [],
});

function open(r: MetricCellsRecord): Block {
  return {
    parentId: r.parentId,
    key: r.key,
    level: r.level,
    block: r.block,
    at: Array.from(r.at),
    count: Array.from(r.count),
    min: Array.from(r.min),
    max: Array.from(r.max),
    last: Array.from(r.last),
    lastStep: Array.from(r.lastStep),
    lastWallclock: Array.from(r.lastWallclock),
  };
}

function seal(b: Block): MetricCellsRecord {
  return {
    parentId: b.parentId,
    key: b.key,
    level: b.level,
    block: b.block,
    at: Uint16Array.from(b.at),
    count: Float64Array.from(b.count),
    min: Float64Array.from(b.min),
    max: Float64Array.from(b.max),
    last: Float64Array.from(b.last),
    lastStep: Float64Array.from(b.lastStep),
    lastWallclock: Float64Array.from(b.lastWallclock),
  };
}

/** The position of cell `at` in a block, the cell added (empty) where missing. */
function slot(b: Block, at: number): number {
  const n = b.at.length;
  // Points come in step order, so the cell is most often the last one or a new last one.
  if (n > 0 && b.at[n - 1] === at) return n - 1;
  let i = n;
  if (n > 0 && b.at[n - 1]! > at) {
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (b.at[mid]! < at) lo = mid + 1;
      else hi = mid;
    }
    if (b.at[lo] === at) return lo;
    i = lo;
  }
  b.at.splice(i, 0, at);
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
  at: number;
  step: number;
  wallclock: number;
}

/**
 * Folds points (in step order) into the cells of every level, in `blocks` (by `blockKey`, the
 * missing ones made empty). A point later than a cell's last on (step, wallclock) becomes its
 * last; one that ties it is reported, as the order then goes by id, which cells do not keep.
 */
function fold(blocks: Map<string, Block>, parentId: string, key: string, points: readonly CellPoint[], ties?: Tie[]): void {
  for (const level of CELL_LEVELS) {
    const width = 2 ** level;
    let cell = NaN;
    let b: Block | undefined;
    let i = -1;
    for (const p of points) {
      const c = Math.floor(p.step / width);
      if (c !== cell) {
        cell = c;
        const block = Math.floor(c / BLOCK_CELLS);
        if (!b || b.block !== block) {
          const k = blockKey(level, block);
          b = blocks.get(k);
          if (!b) blocks.set(k, (b = emptyBlock(parentId, key, level, block)));
        }
        i = slot(b, c - block * BLOCK_CELLS);
      }
      b!.count[i]!++;
      if (p.value < b!.min[i]!) b!.min[i] = p.value;
      if (p.value > b!.max[i]!) b!.max[i] = p.value;
      const ls = b!.lastStep[i]!;
      const lw = b!.lastWallclock[i]!;
      if (p.step > ls || (p.step === ls && p.wallclock >= lw)) {
        if (ties && p.step === ls && p.wallclock === lw) ties.push({ block: b!, at: b!.at[i]!, step: p.step, wallclock: p.wallclock });
        b!.last[i] = p.value;
        b!.lastStep[i] = p.step;
        b!.lastWallclock[i] = p.wallclock;
      }
    }
  }
}

const blockKey = (level: number, block: number) => `${level}:${block}`;

/** The blocks of every level that points (in step order) fall in. */
function blocksOf(points: readonly CellPoint[]): [number, number][] {
  const out: [number, number][] = [];
  for (const level of CELL_LEVELS) {
    const span = 2 ** level * BLOCK_CELLS;
    let prev = NaN;
    for (const p of points) {
      const block = Math.floor(p.step / span);
      if (block !== prev) out.push([level, (prev = block)]);
    }
  }
  return out;
}

/**
 * Builds a series' cells from all its points, in point order (step, wallclock, id): the
 * Dexie version 7 upgrade, and a series made again after points were removed.
 */
export function buildCells(parentId: string, key: string, points: readonly CellPoint[]): MetricCellsRecord[] {
  const blocks = new Map<string, Block>();
  fold(blocks, parentId, key, points);
  return [...blocks.values()].map(seal);
}

/** A series' cell records. */
export const seriesCells = (db: HangarDb, parentId: string, key: string) =>
  db.metricCells.where('[parentId+key+level+block]').between([parentId, key], [parentId, key, []]);

/** Every cell record of a parent, all keys. */
export const parentCells = (db: HangarDb, parentId: string) => db.metricCells.where('[parentId+key+level+block]').between([parentId], [parentId, []]);

/**
 * Inside a transaction over the metric tables, after the segments took them: adds points (in
 * step order) to the series' cells. Where a point ties a cell's last on (step, wallclock),
 * `lastAt` gives the value of the last of the stored points at that step and wallclock.
 */
export async function addToCells(
  db: HangarDb,
  parentId: string,
  key: string,
  points: readonly CellPoint[],
  lastAt: (step: number, wallclock: number) => Promise<number>,
): Promise<void> {
  if (!points.length) return;
  const want = blocksOf(points);
  const stored = await db.metricCells.bulkGet(want.map(([level, block]) => [parentId, key, level, block]));
  const blocks = new Map<string, Block>();
  stored.forEach((r, i) => r && blocks.set(blockKey(want[i]![0], want[i]![1]), open(r)));
  const ties: Tie[] = [];
  fold(blocks, parentId, key, points, ties);
  const resolved = new Map<string, number>();
  for (const t of ties) {
    const i = t.block.at.indexOf(t.at);
    // A later point may have become the cell's last since.
    if (t.block.lastStep[i] !== t.step || t.block.lastWallclock[i] !== t.wallclock) continue;
    const k = `${t.step}:${t.wallclock}`;
    if (!resolved.has(k)) resolved.set(k, await lastAt(t.step, t.wallclock));
    t.block.last[i] = resolved.get(k)!;
  }
  await db.metricCells.bulkPut([...blocks.values()].map(seal));
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
 * step order, reading only the blocks that hold them (inside the caller's transaction).
 */
export async function eachCell(db: HangarDb, parentId: string, key: string, level: number, lo: number, hi: number, each: (c: CellSummary) => void): Promise<void> {
  const records = await db.metricCells
    .where('[parentId+key+level+block]')
    .between([parentId, key, level, Math.floor(lo / BLOCK_CELLS)], [parentId, key, level, Math.floor(hi / BLOCK_CELLS)], true, true)
    .toArray();
  const cell: CellSummary = { lastStep: 0, lastWallclock: 0, last: 0, min: 0, max: 0 };
  for (const r of records) {
    const base = r.block * BLOCK_CELLS;
    for (let i = 0; i < r.at.length; i++) {
      const c = base + r.at[i]!;
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
