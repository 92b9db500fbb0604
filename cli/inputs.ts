import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import Papa from 'papaparse';
import { ErrorCode } from '../shared/errors.ts';
import { metadataValueSchema } from '../shared/metadata.ts';
import { metricPointInputSchema, type MetricPointInput } from '../shared/metrics.ts';
import { keySchema } from '../shared/names.ts';
import { CliCode, CliError, usage } from './errors.ts';

const badFile = (file: string, why: string, hint: string) => new CliError(ErrorCode.InvalidArgument, `${file}: ${why}`, hint);

const METRICS_HINT =
  'Give JSON {"accuracy": 0.93, "loss": [0.9, 0.4]} or [{"key": "loss", "value": 0.4, "step": 1}], or CSV with columns key,value[,step] or step,<metric>,<metric>….';

async function readText(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch {
    throw new CliError(CliCode.FileNotFound, `"${file}" does not exist or cannot be read.`, 'Check the path and run the command again.');
  }
}

/** Metric points from a JSON or CSV file, each checked against the shared schema. */
export async function readMetricsFile(file: string): Promise<MetricPointInput[]> {
  const text = await readText(file);
  const raw = /\.csv$/i.test(file) ? fromCsv(file, text) : fromJson(file, text);
  return raw.map((p, i) => {
    const parsed = metricPointInputSchema.safeParse(p);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw badFile(file, `point ${i + 1} (${JSON.stringify(p)}): ${issue.path.join('.') || 'value'} ${issue.message}.`, METRICS_HINT);
    }
    return parsed.data;
  });
}

function fromJson(file: string, text: string): unknown[] {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw badFile(file, 'is not valid JSON.', METRICS_HINT);
  }
  if (Array.isArray(data)) return data;
  if (data === null || typeof data !== 'object') throw badFile(file, 'holds neither an object nor an array.', METRICS_HINT);
  return Object.entries(data).flatMap(([key, v]) => (Array.isArray(v) ? v.map((value, step) => ({ key, value, step })) : [{ key, value: v, step: 0 }]));
}

function fromCsv(file: string, text: string): unknown[] {
  const { data, errors, meta } = Papa.parse<Record<string, unknown>>(text, { header: true, dynamicTyping: true, skipEmptyLines: true });
  if (errors.length > 0) throw badFile(file, `row ${(errors[0]!.row ?? 0) + 1}: ${errors[0]!.message}.`, METRICS_HINT);
  const columns = meta.fields ?? [];
  if (columns.includes('key') && columns.includes('value')) {
    return data.map((r) => ({ key: String(r['key']), value: r['value'], ...(r['step'] != null ? { step: r['step'] } : {}), ...(r['wallclock'] != null ? { wallclock: r['wallclock'] } : {}) }));
  }
  const keys = columns.filter((c) => c !== 'step' && c !== 'wallclock');
  if (keys.length === 0) throw badFile(file, 'has no metric columns.', METRICS_HINT);
  return data.flatMap((r, i) =>
    keys.filter((key) => r[key] != null && r[key] !== '').map((key) => ({ key, value: r[key], step: r['step'] ?? i, ...(r['wallclock'] != null ? { wallclock: r['wallclock'] } : {}) })),
  );
}

/** Params from a JSON object: each key becomes a metadata key of the version (filterable as `params.<key>`). */
export async function readParamsFile(file: string): Promise<Record<string, unknown>> {
  const text = await readText(file);
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw badFile(file, 'is not valid JSON.', 'Give a JSON object, e.g. {"lr": 0.01, "epochs": 20}.');
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw badFile(file, 'is not a JSON object.', 'Give a JSON object, e.g. {"lr": 0.01, "epochs": 20}.');
  }
  for (const [key, value] of Object.entries(data)) checkMetadata(key, value, file);
  return data as Record<string, unknown>;
}

/** `--meta key=JSON` (a value that is not JSON is taken as a string). */
export function parseMeta(items: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const item of items) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw usage(`--meta "${item}" is not key=JSON.`, 'Write --meta key=JSON, e.g. --meta dataset=\'"2024-q3"\' or --meta layers=3.');
    const key = item.slice(0, eq);
    const text = item.slice(eq + 1);
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      value = text;
    }
    checkMetadata(key, value, '--meta');
    out[key] = value;
  }
  return out;
}

function checkMetadata(key: string, value: unknown, where: string): void {
  const k = keySchema.safeParse(key);
  if (!k.success) throw usage(`${where}: the key "${key}" ${k.error.issues[0]!.message}.`);
  const v = metadataValueSchema.safeParse(value);
  if (!v.success) throw usage(`${where}: the value of "${key}" ${v.error.issues[0]!.message}.`);
}

/** `key=value` pairs of `hangar log`: numbers only. */
export function parseMetricPairs(items: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const item of items) {
    const eq = item.lastIndexOf('=');
    const key = item.slice(0, Math.max(eq, 0));
    const value = Number(item.slice(eq + 1));
    if (eq <= 0 || item.slice(eq + 1).trim() === '' || !Number.isFinite(value) || !keySchema.safeParse(key).success) {
      throw usage(`"${item}" is not key=number.`, 'Write metric points as key=number, e.g. hangar log team/churn/3 accuracy=0.93 loss=0.21.');
    }
    out[key] = value;
  }
  return out;
}

/**
 * A stable UUID (version 8) from the given parts, so a metric point sent again by a re-run
 * has the id it had, and the server keeps it once.
 */
export function stableId(...parts: (string | number)[]): string {
  const h = createHash('sha256').update(parts.join('\n')).digest('hex');
  const variant = ((parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-8${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}
