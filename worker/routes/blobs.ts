import { Hono, type Context } from 'hono';
import { startUploadSchema } from '../../shared/blobs.ts';
import { ErrorCode, HangarError } from '../../shared/errors.ts';
import { LIMITS } from '../../shared/limits.ts';
import { sha256Schema } from '../../shared/names.ts';
import { serverHlc } from '../clock.ts';
import { getGrantedBlob, getUploadRow, type BlobRow } from '../db/blobs.ts';
import { abortUpload, completeUpload, putBlob, putPart, requireLength, startUpload, uploadStatus } from '../domain/blobs.ts';
import type { AppEnv } from '../env.ts';
import { readBody } from '../http.ts';
import type { RouteDoc } from '../openapi.ts';

/** `/namespaces/{ns}/blobs`: content-addressed bytes, uploaded in parts or in one request. */
export const blobs = new Hono<AppEnv>();

/** The request's Content-Length, if it sent a valid one: raw bodies are sized before they are read. */
function contentLength(c: Context<AppEnv>): number | undefined {
  const header = c.req.header('content-length')?.trim();
  return header !== undefined && /^\d{1,16}$/.test(header) ? Number(header) : undefined;
}

function digestParam(c: Context<AppEnv>): string {
  const hex = c.req.param('hex') ?? '';
  if (!sha256Schema.safeParse(hex).success) {
    throw new HangarError(ErrorCode.InvalidArgument, 'A blob is named by its SHA-256: 64 lower-case hex digits.', { sha256: hex });
  }
  return hex;
}

const blobNotFound = (sha256: string) =>
  new HangarError(ErrorCode.BlobNotFound, `No blob ${sha256} that this namespace uploaded.`, { sha256 });

/** A verified blob the namespace may read, or 404 `blob-not-found`. */
export async function readableBlob(db: D1Database, namespace: string, sha256: string): Promise<BlobRow> {
  const blob = await getGrantedBlob(db, namespace, sha256);
  if (!blob) throw blobNotFound(sha256);
  return blob;
}

type ByteRange = { start: number; end: number };

/**
 * The single byte range a Range header asks for: `undefined` to send everything (no header,
 * a syntax we ignore as RFC 9110 allows, or several ranges), `'unsatisfiable'` for 416.
 */
export function parseRange(header: string | undefined, size: number): ByteRange | 'unsatisfiable' | undefined {
  const m = header ? /^bytes=(\d*)-(\d*)$/.exec(header.trim()) : null;
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    return suffix === 0 || size === 0 ? 'unsatisfiable' : { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(m[1]);
  const last = m[2] === '' ? Infinity : Number(m[2]);
  if (last < start) return undefined;
  return start >= size ? 'unsatisfiable' : { start, end: Math.min(last, size - 1) };
}

/** `attachment` with the file's name, ASCII-safe plus RFC 5987 UTF-8 for the rest. */
function attachment(path: string): string {
  const name = path.slice(path.lastIndexOf('/') + 1);
  const ascii = name.replace(/[^\x20-\x7e]|["\\]/g, '_');
  const utf8 = encodeURIComponent(name).replace(/['()*]/g, (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase()}`);
  return `attachment; filename="${ascii}"; filename*=UTF-8''${utf8}`;
}

const etagMatches = (header: string | undefined, etag: string) =>
  header !== undefined && header.split(',').some((t) => ['*', etag, `W/${etag}`].includes(t.trim()));

/**
 * Answers a blob's bytes, whole or one range, for GET and HEAD. Blobs are content-addressed
 * and so immutable: the digest is the ETag and they may be cached forever. They are sent as
 * downloads that never run as a page of this origin, whatever type an artifact claims.
 */
export async function serveBlob(
  c: Context<AppEnv>,
  blob: Pick<BlobRow, 'sha256' | 'size' | 'r2_key'>,
  opts: { contentType: string; path?: string },
): Promise<Response> {
  const etag = `"${blob.sha256}"`;
  const headers = new Headers({
    'Accept-Ranges': 'bytes',
    ETag: etag,
    'Cache-Control': 'private, max-age=31536000, immutable',
    'Content-Type': opts.contentType,
    'X-Content-Type-Options': 'nosniff',
    'Content-Security-Policy': "default-src 'none'; sandbox",
  });
  if (opts.path) headers.set('Content-Disposition', attachment(opts.path));
  if (etagMatches(c.req.header('if-none-match'), etag)) return new Response(null, { status: 304, headers });
  const ifRange = c.req.header('if-range');
  const range = ifRange === undefined || ifRange.trim() === etag ? parseRange(c.req.header('range'), blob.size) : undefined;
  if (range === 'unsatisfiable') {
    const err = new HangarError(ErrorCode.RangeNotSatisfiable, `The blob has ${blob.size} bytes; the range asked for lies outside it.`, {
      size: blob.size,
    });
    return c.json(err.toJSON(), 416, { 'Content-Range': `bytes */${blob.size}`, 'X-Hangar-Error': err.code });
  }
  const length = range ? range.end - range.start + 1 : blob.size;
  headers.set('Content-Length', String(length));
  if (range) headers.set('Content-Range', `bytes ${range.start}-${range.end}/${blob.size}`);
  const status = range ? 206 : 200;
  if (c.req.method === 'HEAD') return new Response(null, { status, headers });
  const obj = await c.env.BLOBS.get(blob.r2_key, range ? { range: { offset: range.start, length } } : {});
  // A row means the bytes exist; if R2 lost them anyway, say so rather than send an empty body.
  if (!obj) throw new HangarError(ErrorCode.Internal, `The bytes of blob ${blob.sha256} are missing from storage.`);
  return new Response(obj.body, { status, headers });
}

blobs.post('/uploads', async function startUploadRoute(c) {
  const input = await readBody(c, startUploadSchema);
  const { result, created } = await startUpload(c.env, c.req.param('ns')!, input);
  return c.json(result, created ? 201 : 200);
});

blobs.get('/uploads/:id', async function uploadStatusRoute(c) {
  const upload = await getUploadRow(c.env.DB, c.req.param('ns')!, c.req.param('id'));
  return c.json(await uploadStatus(c.env.DB, upload));
});

blobs.put('/uploads/:id/parts/:n', async function putPartRoute(c) {
  const raw = c.req.param('n');
  const n = /^\d{1,5}$/.test(raw) ? Number(raw) : NaN;
  return c.json(await putPart(c.env, c.req.param('ns')!, c.req.param('id'), n, contentLength(c), c.req.raw.body));
});

blobs.post('/uploads/:id/complete', async function completeUploadRoute(c) {
  return c.json(await completeUpload(c.env, c.req.param('ns')!, c.req.param('id'), serverHlc()), 201);
});

blobs.delete('/uploads/:id', async function abortUploadRoute(c) {
  await abortUpload(c.env, c.req.param('ns')!, c.req.param('id'));
  return c.body(null, 204);
});

blobs.put('/sha256/:hex', async function putBlobRoute(c) {
  const sha256 = digestParam(c);
  const length = requireLength(contentLength(c));
  if (length > LIMITS.singlePutBytes) {
    throw new HangarError(
      ErrorCode.PayloadTooLarge,
      `A blob sent in one request is at most ${LIMITS.singlePutBytes} bytes; send this one with a multipart upload (POST /blobs/uploads).`,
      { limit: LIMITS.singlePutBytes },
    );
  }
  return c.json(await putBlob(c.env, c.req.param('ns')!, sha256, length, c.req.raw.body, serverHlc()), 201);
});

// Also answers HEAD: Hono runs GET handlers for HEAD and drops the body.
blobs.get('/sha256/:hex', async function readBlobRoute(c) {
  const sha256 = digestParam(c);
  const blob = await readableBlob(c.env.DB, c.req.param('ns')!, sha256);
  return serveBlob(c, blob, { contentType: 'application/octet-stream' });
});

const base = '/namespaces/{ns}/blobs';
export const blobDocs: RouteDoc[] = [
  {
    method: 'post',
    path: `${base}/uploads`,
    summary: 'Start (or resume) a multipart upload; answers {exists: true} when this namespace holds the bytes already',
    body: startUploadSchema,
    role: 'write',
  },
  { method: 'get', path: `${base}/uploads/{id}`, summary: 'Which parts of an upload arrived, to resume it', role: 'read' },
  { method: 'put', path: `${base}/uploads/{id}/parts/{n}`, summary: 'Send part n of an upload (raw bytes, exact size)', rawBody: true, role: 'write' },
  { method: 'post', path: `${base}/uploads/{id}/complete`, summary: 'Complete an upload: verifies size and SHA-256', role: 'write' },
  { method: 'delete', path: `${base}/uploads/{id}`, summary: 'Abort an upload', role: 'write' },
  { method: 'put', path: `${base}/sha256/{hex}`, summary: 'Send a small blob in one request, verified', rawBody: true, role: 'write' },
  { method: 'get', path: `${base}/sha256/{hex}`, summary: 'Read a blob this namespace uploaded (also HEAD; Range supported)', role: 'read' },
];
