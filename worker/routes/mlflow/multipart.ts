import { Hono, type Context } from 'hono';
import { z } from 'zod';
import { b64url, unb64url } from '../../../shared/encoding.ts';
import { uuidv7 } from '../../../shared/ids.ts';
import { LIMITS } from '../../../shared/limits.ts';
import { serverHlc } from '../../clock.ts';
import { registerArtifact } from '../../domain/artifacts.ts';
import { adoptObject, isNoSuchUpload } from '../../domain/blobs.ts';
import type { AppEnv } from '../../env.ts';
import { checkRateLimit } from '../../rate-limit.ts';
import { access, int64, ns, readRequest, repeated } from './common.ts';
import { checkPath, readBytes, resolve } from './artifacts.ts';
import { doesNotExist, handleMlflowError, invalidParameter } from './errors.ts';

/**
 * MLflow's proxied multipart artifact uploads (`mlflow-artifacts/mpu/{create,complete,abort}`),
 * which the client uses for large files when `MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD` is set. The
 * bytes go to an R2 multipart upload; its parts are sent to the URLs `create` hands out, which
 * carry the upload id as their only credential (as a cloud store's presigned URLs do, since the
 * client sends no token with them). `complete` joins the parts, hashes what R2 stored and records
 * it as a content-addressed blob and the run's artifact. No digest is announced up front, so the
 * server learns it only then.
 */
export const mlflowMultipart = new Hono<AppEnv>();

/** R2 keys of these uploads: per namespace, so an upload id only ever reaches its own namespace's uploads. */
const keyPrefix = (namespace: string) => `mlflow-mpu/${namespace}/`;

/** The upload id MLflow carries between the calls: the R2 key and R2's own upload id. */
interface UploadRef {
  key: string;
  r2UploadId: string;
}
const encodeRef = (ref: UploadRef) => b64url(JSON.stringify({ k: ref.key, u: ref.r2UploadId }));

function decodeRef(namespace: string, uploadId: string): UploadRef {
  const unknown = () => doesNotExist(`No multipart upload '${uploadId.slice(0, 64)}' in this namespace.`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(unb64url(uploadId));
  } catch {
    throw unknown();
  }
  const ref = z.object({ k: z.string().startsWith(keyPrefix(namespace)).max(200), u: z.string().min(1).max(1024) }).safeParse(parsed);
  if (!ref.success) throw unknown();
  return { key: ref.data.k, r2UploadId: ref.data.u };
}

/** The artifact a create/complete/abort names: the directory in the URL, the file name from the client's local path. */
async function target(c: Context<AppEnv>, localPath: string) {
  const rest = c.req.param('path') ?? '';
  const { parent, path: dir } = await resolve(c, rest.replace(/\/+$/, ''));
  const name = localPath.split(/[\\/]/).pop() ?? '';
  if (!name) throw invalidParameter(`'${localPath}' names no file.`);
  const path = dir ? `${dir}/${name}` : name;
  checkPath(path);
  return { parent, path };
}

const createSchema = z.object({ path: z.string().min(1).max(4096), num_parts: int64.pipe(z.number().int().min(1).max(LIMITS.uploadMaxParts)) });
const completeSchema = z.object({
  path: z.string().min(1).max(4096),
  upload_id: z.string().min(1).max(2048),
  parts: repeated(z.object({ part_number: int64.pipe(z.number().int().min(1).max(LIMITS.uploadMaxParts)), etag: z.string().min(1).max(256) }))
    .pipe(z.array(z.any()).min(1).max(LIMITS.uploadMaxParts)),
});
const abortSchema = z.object({ path: z.string().min(1).max(4096), upload_id: z.string().min(1).max(2048) });

/** An ETag as HTTP carries it (quoted); R2 wants it bare. */
const bareEtag = (etag: string) => etag.replace(/^W\//, '').replace(/^"(.*)"$/, '$1');

mlflowMultipart.post('/mpu/create/:path{.+}', async function createMultipartUpload(c) {
  access(c, 'write');
  const body = await readRequest(c, createSchema);
  await target(c, body.path);
  const namespace = ns(c);
  const key = `${keyPrefix(namespace)}${uuidv7()}`;
  const upload = await c.env.BLOBS.createMultipartUpload(key);
  const uploadId = encodeRef({ key, r2UploadId: upload.uploadId });
  const base = `${new URL(c.req.url).origin}/mlflow/${namespace}/api/2.0/mlflow-artifacts/mpu/part/${uploadId}`;
  const credentials = Array.from({ length: body.num_parts }, (_, i) => ({ url: `${base}/${i + 1}`, part_number: i + 1, headers: {} }));
  return c.json({ upload_id: uploadId, credentials });
});

mlflowMultipart.post('/mpu/complete/:path{.+}', async function completeMultipartUpload(c) {
  access(c, 'write');
  const body = await readRequest(c, completeSchema);
  const { parent, path } = await target(c, body.path);
  const namespace = ns(c);
  const ref = decodeRef(namespace, body.upload_id);
  const parts = (body.parts as { part_number: number; etag: string }[]).map((p) => ({ partNumber: p.part_number, etag: bareEtag(p.etag) }));
  try {
    await c.env.BLOBS.resumeMultipartUpload(ref.key, ref.r2UploadId).complete(parts);
  } catch (err) {
    if (isNoSuchUpload(err)) throw doesNotExist(`No multipart upload '${body.upload_id.slice(0, 64)}' in this namespace (completed, aborted or expired).`);
    // R2 refuses a list of parts it does not hold, or parts of uneven or too small sizes.
    throw invalidParameter(`The parts could not be joined: ${err instanceof Error ? err.message : String(err)}. Every part but the last must have the same size, at least 5 MiB.`);
  }
  const hlc = serverHlc();
  const blob = await adoptObject(c.env, namespace, ref.key, hlc);
  await registerArtifact(c.env.DB, parent, { path, size: blob.size, sha256: blob.sha256 }, hlc);
  return c.json({});
});

mlflowMultipart.post('/mpu/abort/:path{.+}', async function abortMultipartUpload(c) {
  access(c, 'write');
  const body = await readRequest(c, abortSchema);
  await target(c, body.path);
  const ref = decodeRef(ns(c), body.upload_id);
  try {
    await c.env.BLOBS.resumeMultipartUpload(ref.key, ref.r2UploadId).abort();
  } catch (err) {
    if (!isNoSuchUpload(err)) throw err;
  }
  return c.json({});
});

/**
 * One part, at a URL `create` handed out. MLflow sends these with no token: the upload id in the
 * URL is the credential, and requests count against their address's rate limit.
 */
export const mlflowParts = new Hono<AppEnv>();
mlflowParts.put('/:uploadId/:n{[0-9]{1,5}}', async function uploadMultipartPart(c) {
  await checkRateLimit(c, 'address');
  const ref = decodeRef(c.req.param('ns') ?? '', c.req.param('uploadId'));
  const n = Number(c.req.param('n'));
  if (n < 1 || n > LIMITS.uploadMaxParts) throw invalidParameter(`Part numbers run from 1 to ${LIMITS.uploadMaxParts}.`);
  const bytes = await readBytes(c, LIMITS.mlflowPartBytes, () =>
    invalidParameter(`A part may be at most ${LIMITS.mlflowPartBytes} bytes; set MLFLOW_MULTIPART_UPLOAD_CHUNK_SIZE lower.`),
  );
  let etag: string;
  try {
    etag = (await c.env.BLOBS.resumeMultipartUpload(ref.key, ref.r2UploadId).uploadPart(n, bytes)).etag;
  } catch (err) {
    if (isNoSuchUpload(err)) throw doesNotExist(`No multipart upload '${c.req.param('uploadId').slice(0, 64)}' in this namespace (completed, aborted or expired).`);
    throw err;
  }
  return c.body(null, 200, { ETag: `"${etag}"` });
});
mlflowParts.onError(handleMlflowError);
