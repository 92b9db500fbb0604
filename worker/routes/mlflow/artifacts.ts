import { Hono, type Context } from 'hono';
import { z } from 'zod';
import { toHex } from '../../../shared/ids.ts';
import { LIMITS } from '../../../shared/limits.ts';
import { artifactPathProblem } from '../../../shared/names.ts';
import { serverHlc } from '../../clock.ts';
import { getArtifactRow, listArtifactRows } from '../../db/artifacts.ts';
import { getModelRow } from '../../db/models.ts';
import { getVersionRow } from '../../db/versions.ts';
import { registerArtifact } from '../../domain/artifacts.ts';
import { putBlob } from '../../domain/blobs.ts';
import type { AppEnv } from '../../env.ts';
import type { Parent } from '../../parent.ts';
import { readableBlob, serveBlob } from '../blobs.ts';
import { access, db, experimentIdOf, ns, readRequest, runById } from './common.ts';
import { doesNotExist, invalidParameter } from './errors.ts';

/**
 * `…/api/2.0/mlflow-artifacts/artifacts/…`: MLflow's proxied artifacts. A run's artifact URI is
 * `mlflow-artifacts:/<experiment>/<run>/artifacts`, a registered version's
 * `mlflow-artifacts:/models/<name>/versions/<n>/artifacts`; the bytes go to the content-addressed
 * blob store and the file becomes an artifact of the run (or version).
 */
export const mlflowArtifacts = new Hono<AppEnv>();

/** The version a path under `artifacts/` names, and the path inside its artifacts ('' for its root). */
export async function resolve(c: Context<AppEnv>, full: string): Promise<{ parent: Parent; path: string }> {
  const segments = full.split('/');
  if (segments.some((s) => s === '..' || s === '.')) throw invalidParameter(`Invalid path '${full}': it must not contain '.' or '..' segments.`);
  const notFound = () => doesNotExist(`No artifact root at '${full}'.`);
  if (segments[0] === 'models' && segments[2] === 'versions' && segments[4] === 'artifacts') {
    const model = await getModelRow(db(c), ns(c), segments[1] ?? '').catch(() => undefined);
    const version = model && (await getVersionRow(db(c), model, segments[3] ?? '').catch(() => undefined));
    if (!model || !version) throw notFound();
    return { parent: { namespace: model.namespace, model, version, id: version.id, kind: 'version' }, path: segments.slice(5).join('/') };
  }
  if (segments.length < 3 || segments[2] !== 'artifacts') throw notFound();
  const { experiment, parent } = await runById(c, segments[1]!);
  if (experimentIdOf(experiment) !== segments[0]) throw notFound();
  return { parent, path: segments.slice(3).join('/') };
}

export function checkPath(path: string): void {
  const problem = artifactPathProblem(path);
  if (problem) throw invalidParameter(`Invalid artifact path '${path}': ${problem}.`);
}

const singlePutTooLarge = () =>
  invalidParameter(`Artifacts uploaded in one request may be at most ${LIMITS.singlePutBytes} bytes; set MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD=true so larger files go in parts.`);

/** The body's bytes, at most `limit` (checked on the bytes, whatever Content-Length says). */
export async function readBytes(c: Context<AppEnv>, limit = LIMITS.singlePutBytes, tooLarge = singlePutTooLarge): Promise<Uint8Array> {
  if (Number(c.req.header('content-length') ?? 0) > limit) throw tooLarge();
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = c.req.raw.body?.getReader();
  for (let r = await reader?.read(); reader && r && !r.done; r = await reader.read()) {
    size += r.value.byteLength;
    if (size > limit) {
      await reader.cancel();
      throw tooLarge();
    }
    chunks.push(r.value);
  }
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.byteLength;
  }
  return bytes;
}

mlflowArtifacts.put('/artifacts/:path{.+}', async function uploadArtifact(c) {
  access(c, 'write');
  const { parent, path } = await resolve(c, c.req.param('path'));
  checkPath(path);
  const bytes = await readBytes(c);
  const sha256 = toHex(await crypto.subtle.digest('SHA-256', bytes));
  const hlc = serverHlc();
  await putBlob(c.env, parent.namespace, sha256, bytes.byteLength, new Blob([bytes]).stream(), hlc);
  await registerArtifact(db(c), parent, { path, size: bytes.byteLength, sha256 }, hlc);
  return c.json({});
});

mlflowArtifacts.get('/artifacts/:path{.+}', async function downloadArtifact(c) {
  access(c, 'read');
  const { parent, path } = await resolve(c, c.req.param('path'));
  checkPath(path);
  const row = await getArtifactRow(db(c), parent.id, path);
  if (!row) throw doesNotExist(`No artifact at '${path}'.`);
  if (row.url !== null) return c.redirect(row.url, 302);
  if (row.stored !== 1) throw doesNotExist(`The bytes of '${path}' have not been uploaded yet.`);
  return serveBlob(c, await readableBlob(db(c), parent.namespace, row.sha256!), { contentType: row.mime_type, path });
});

mlflowArtifacts.get('/artifacts', async function listArtifacts(c) {
  access(c, 'read');
  const { path: full } = await readRequest(c, z.object({ path: z.string().max(LIMITS.artifactPathBytes * 2).optional() }));
  if (!full) return c.json({ files: [] });
  const { parent, path } = await resolve(c, full.replace(/\/+$/, ''));
  if (path) checkPath(path);
  const prefix = path ? `${path}/` : '';
  const files = new Map<string, { path: string; is_dir: boolean; file_size?: number }>();
  for (const row of await listArtifactRows(db(c), parent.id, prefix)) {
    const rest = row.path.slice(prefix.length);
    const slash = rest.indexOf('/');
    if (slash >= 0) files.set(rest.slice(0, slash), { path: rest.slice(0, slash), is_dir: true });
    else files.set(rest, { path: rest, is_dir: false, ...(row.size !== null ? { file_size: row.size } : {}) });
  }
  return c.json({ files: [...files.values()] });
});
