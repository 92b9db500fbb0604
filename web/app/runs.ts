import type { Hangar, MetricSummary, ModelHandle, Params, VersionHandle } from '../client/index.ts';
import { isInternalRunKey, runStatusOf, type RunStatus } from '../../shared/runs.ts';

/** One run as the experiment pages show it. */
export interface RunRow {
  version: VersionHandle;
  status: RunStatus;
  params: Params;
  /** Final (last logged) value per metric key. */
  metrics: Record<string, number>;
  /** The user's tags: metadata without Hangar's own `hangar.mlflow.` keys. */
  tags: Record<string, unknown>;
}

/** A run's row: its status as MLflow names it, params, final metrics and tags. */
export async function runRow(version: VersionHandle, summary?: Record<string, MetricSummary>): Promise<RunRow> {
  const [metadata, params, metrics] = await Promise.all([version.metadata(), version.params(), summary ?? version.metrics()]);
  const tags = Object.fromEntries(Object.entries(metadata).filter(([k]) => !isInternalRunKey(k)));
  return {
    version,
    status: runStatusOf(version.status, metadata),
    params,
    metrics: Object.fromEntries(Object.entries(metrics).map(([k, s]) => [k, s.last])),
    tags,
  };
}

/**
 * The rows the runs page shows now, by run number, for its experiment: opening a run from there,
 * the run page draws that row (and starts its charts) at once, while it reads the run afresh.
 */
let shown: { namespace: string; experiment: string; rows: Map<number, RunRow> } | null = null;

/** Keeps the rows an experiment's runs page shows (replacing those of any other). */
export function showRuns(namespace: string, experiment: string, rows: RunRow[]): void {
  shown = { namespace, experiment, rows: new Map(rows.map((r) => [r.version.number, r])) };
}

/** A run's row as the runs page last showed it, if it did. */
export function shownRun(namespace: string, experiment: string, number: number): RunRow | undefined {
  return shown?.namespace === namespace && shown.experiment === experiment ? shown.rows.get(number) : undefined;
}

/** An experiment's runs, those matching `filter` (the API's filter language) when given. */
export async function experimentRuns(hangar: Hangar, namespace: string, name: string, filter = ''): Promise<{ experiment: ModelHandle; runs: RunRow[] }> {
  const experiment = await hangar.model(namespace, name);
  const versions = await experiment.versions(filter.trim() ? { filter } : {});
  return { experiment, runs: await Promise.all(versions.map((v) => runRow(v))) };
}

/** Every key of a set of maps, sorted. */
export const keysOf = (maps: Record<string, unknown>[]) => [...new Set(maps.flatMap((m) => Object.keys(m)))].sort();

/** A value as a table cell shows it. */
export function cell(value: unknown): string {
  if (value === undefined) return '—';
  if (typeof value === 'number') return Number.isInteger(value) ? String(value) : value.toPrecision(4);
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** A run's label: its name, or `Run n`. */
export const runLabel = (v: VersionHandle) => v.name ?? `Run ${v.number}`;
