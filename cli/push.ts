import { guessFileType, guessMimeType, type Artifact } from '../shared/artifacts.ts';
import { ErrorCode, HangarError } from '../shared/errors.ts';
import { LIMITS } from '../shared/limits.ts';
import type { MetricPointInput } from '../shared/metrics.ts';
import type { Page } from '../shared/pages.ts';
import type { ModelVersion } from '../shared/versions.ts';
import { Api, connect, type Connection } from './api.ts';
import { CliCode, CliError } from './errors.ts';
import { collectFiles, hashFiles, pool, type HashedFile } from './files.ts';
import { parseMeta, readMetricsFile, readParamsFile, stableId } from './inputs.ts';
import { formatBytes, type Output } from './output.ts';
import type { CommandResult } from './result.ts';
import { parseAlias, parseFramework, parseLabel, parseModelName } from './args.ts';
import { uploadFile, type UploadResult } from './upload.ts';

export interface PushOptions {
  model: string;
  version?: string;
  alias?: string;
  framework?: string;
  metrics?: string;
  params?: string;
  meta: string[];
  /** Small files sent side by side, and parts of a large file in flight at once. */
  concurrency: { files: number; parts: number };
  dryRun?: boolean;
}

/** How long `push` waits for its version to become ready, and how often it looks. */
const READY_TIMEOUT_MS = 120_000;
const READY_POLL_MS = 250;

/**
 * `hangar push`: hashes the files, sends the bytes the server lacks, creates the model if
 * needed and the version (or continues the one with the same label), records params,
 * metadata, metrics and artifacts, marks the version ready, waits for it and moves the alias.
 * Bytes go first, so a file that changes or a network that drops leaves no record behind.
 */
export async function push(args: string[], opts: PushOptions, conn: Connection, out: Output): Promise<CommandResult> {
  const { namespace, model } = parseModelName(opts.model, '--model');
  const label = opts.version === undefined ? undefined : parseLabel(opts.version);
  const alias = opts.alias === undefined ? undefined : parseAlias(opts.alias);
  if (opts.framework !== undefined) parseFramework(opts.framework);
  const api = opts.dryRun ? undefined : connect(conn);
  const files = await collectFiles(args);
  const metadata = { ...(opts.params ? await readParamsFile(opts.params) : {}), ...parseMeta(opts.meta) };
  const metrics = opts.metrics ? await readMetricsFile(opts.metrics) : [];

  const total = files.reduce((s, f) => s + f.size, 0);
  const hashing = out.progress('hashing', total);
  const hashed = await hashFiles(files, hashing.add);
  hashing.done();

  const plan = {
    namespace,
    model,
    version: label ?? null,
    alias: alias ?? null,
    files: hashed.map(({ path, size, sha256 }) => ({ path, size, sha256 })),
    metrics: metrics.length,
    metadata: Object.keys(metadata),
  };
  if (!api) {
    return {
      json: { dryRun: true, ...plan },
      text: [
        `would push ${hashed.length} file(s), ${formatBytes(total)}, to ${namespace}/${model}${label ? ` version "${label}"` : ''}:`,
        ...hashed.map((f) => `  ${f.path}  ${formatBytes(f.size)}  sha256:${f.sha256}`),
        ...(metrics.length ? [`  ${metrics.length} metric point(s)`] : []),
        ...(plan.metadata.length ? [`  metadata: ${plan.metadata.join(', ')}`] : []),
        ...(alias ? [`  then move alias "${alias}"`] : []),
      ],
      quiet: [],
    };
  }

  const modelPath = Api.model(namespace, model);
  // A re-run continuing a version skips the files it already holds, before any byte is sent.
  const held = label ? await heldArtifacts(api, modelPath, label) : new Map<string, string>();
  const uploads = await sendFiles(api, namespace, hashed.filter((f) => held.get(f.path) !== f.sha256), opts.concurrency, out);
  for (const f of hashed) {
    if (held.get(f.path) === f.sha256) uploads.push({ path: f.path, sha256: f.sha256, size: f.size, state: 'exists', partsSent: 0, partsSkipped: 0 });
  }
  uploads.sort((a, b) => (a.path < b.path ? -1 : 1));
  const modelCreated = await ensureModel(api, namespace, model);
  const { version, created } = await findOrCreateVersion(api, modelPath, label, opts.framework);
  if (version.status === 'failed') {
    throw new CliError(CliCode.VersionFailed, `${namespace}/${model}/${version.number} is marked failed.`, 'Push to a new version (another --version).');
  }
  const versionPath = `${modelPath}/versions/${version.number}`;
  const keys = Object.entries(metadata);
  for (let i = 0; i < keys.length; i += LIMITS.metadataKeysPerRequest) {
    await api.json('PATCH', versionPath, { json: { metadata: Object.fromEntries(keys.slice(i, i + LIMITS.metadataKeysPerRequest)) } });
  }
  await logMetrics(api, versionPath, version.id, metrics);
  await pool(hashed, opts.concurrency.files, async (f) => {
    const mimeType = guessMimeType(f.path);
    await api.json('POST', `${versionPath}/artifacts`, {
      json: { path: f.path, size: f.size, sha256: f.sha256, mimeType, fileType: guessFileType(f.path, mimeType) },
    });
  });
  if (version.status === 'pending') await api.json('PATCH', versionPath, { json: { status: 'ready' } });
  const ready = await waitReady(api, versionPath, `${namespace}/${model}/${version.number}`);
  if (alias) await api.json('PUT', `${modelPath}/aliases/${encodeURIComponent(alias)}`, { json: { version: ready.number } });

  const ref = `${namespace}/${model}/${ready.number}`;
  const sent = uploads.filter((u) => u.state === 'sent');
  return {
    json: { ref, ...plan, number: ready.number, status: ready.status, modelCreated, versionCreated: created, uploads },
    text: [
      ...(modelCreated ? [`created model ${namespace}/${model}`] : []),
      `${created ? 'created' : 'continued'} version ${ref}${label ? ` ("${label}")` : ''}`,
      `sent ${sent.length} file(s), ${uploads.length - sent.length} already on the server; ${metrics.length} metric point(s)`,
      ...(alias ? [`moved ${alias} to ${ref}`] : []),
      ref,
    ],
    quiet: [ref],
  };
}

/**
 * Small files go side by side; a large one sends its parts `concurrency.parts` at a time. One at
 * a time is the default: parts that arrive in order are hashed by the server as they come, while
 * parts out of order make it read the whole object again to complete (measured in bench/cli).
 */
async function sendFiles(api: Api, namespace: string, files: HashedFile[], concurrency: PushOptions['concurrency'], out: Output): Promise<UploadResult[]> {
  const bar = out.progress('uploading', files.reduce((s, f) => s + f.size, 0));
  const results = new Map<string, UploadResult>();
  const small = files.filter((f) => f.size <= LIMITS.uploadPartBytes);
  await pool(small, concurrency.files, async (f) => {
    results.set(f.path, await uploadFile(api, namespace, f, { concurrency: concurrency.parts, onBytes: bar.add }));
  });
  for (const f of files.filter((f) => f.size > LIMITS.uploadPartBytes)) {
    results.set(f.path, await uploadFile(api, namespace, f, { concurrency: concurrency.parts, onBytes: bar.add }));
  }
  bar.done();
  return files.map((f) => results.get(f.path)!);
}

/** Creates the model unless it exists; answers whether this call created it. */
async function ensureModel(api: Api, namespace: string, model: string): Promise<boolean> {
  try {
    await api.json('GET', Api.model(namespace, model));
    return false;
  } catch (err) {
    if (!(err instanceof HangarError && err.code === ErrorCode.ModelNotFound)) throw err;
  }
  try {
    await api.json('POST', `/namespaces/${encodeURIComponent(namespace)}/models`, { json: { name: model } });
    return true;
  } catch (err) {
    if (err instanceof HangarError && err.code === ErrorCode.ModelExists) return false;
    throw err;
  }
}

/** Path → digest of the stored artifacts of the version with this label, if it exists yet. */
async function heldArtifacts(api: Api, modelPath: string, label: string): Promise<Map<string, string>> {
  let found: ModelVersion | undefined;
  try {
    found = await findByLabel(api, modelPath, label);
  } catch (err) {
    if (err instanceof HangarError && err.code === ErrorCode.ModelNotFound) return new Map();
    throw err;
  }
  if (!found) return new Map();
  const { items } = await api.json<{ items: Artifact[] }>('GET', `${modelPath}/versions/${found.number}/artifacts`);
  return new Map(items.filter((a) => a.stored && a.sha256).map((a) => [a.path, a.sha256!]));
}

async function findByLabel(api: Api, modelPath: string, label: string): Promise<ModelVersion | undefined> {
  const page = await api.json<Page<ModelVersion>>('GET', `${modelPath}/versions?filter=${encodeURIComponent(`version = '${label}'`)}`);
  return page.items[0];
}

/** The version with this label (a re-run continues it), or a new pending one. */
async function findOrCreateVersion(api: Api, modelPath: string, label: string | undefined, framework: string | undefined) {
  if (label) {
    const found = await findByLabel(api, modelPath, label);
    if (found) return { version: found, created: false };
  }
  try {
    const body = { status: 'pending', ...(label ? { version: label } : {}), ...(framework ? { framework } : {}) };
    return { version: await api.json<ModelVersion>('POST', `${modelPath}/versions`, { json: body }), created: true };
  } catch (err) {
    // Another push with the same label won the race: continue its version.
    if (label && err instanceof HangarError && err.code === ErrorCode.VersionLabelTaken) {
      const found = await findByLabel(api, modelPath, label);
      if (found) return { version: found, created: false };
    }
    throw err;
  }
}

/** Sends metric points in requests of at most the limit, each with a stable id so a re-run adds nothing twice. */
async function logMetrics(api: Api, versionPath: string, versionId: string, points: MetricPointInput[]): Promise<void> {
  const withIds = points.map((p, i) => ({ ...p, id: p.id ?? stableId(versionId, p.key, p.step ?? 0, i) }));
  for (let i = 0; i < withIds.length; i += LIMITS.metricsPerRequest) {
    await api.json('POST', `${versionPath}/metrics`, { json: { metrics: withIds.slice(i, i + LIMITS.metricsPerRequest) } });
  }
}

async function waitReady(api: Api, versionPath: string, ref: string): Promise<ModelVersion> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    const v = await api.json<ModelVersion>('GET', versionPath);
    if (v.status === 'ready') return v;
    if (v.status === 'failed') throw new CliError(CliCode.VersionFailed, `${ref} was marked failed.`, 'Push to a new version (another --version).');
    if (Date.now() > deadline) {
      throw new CliError(CliCode.WaitTimeout, `${ref} is still ${v.status} after ${READY_TIMEOUT_MS / 1000} s.`, 'Run the same command again to resume waiting.');
    }
    await new Promise((r) => setTimeout(r, READY_POLL_MS));
  }
}
