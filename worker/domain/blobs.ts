import { expectedPartSize, partCount, type StartUploadResult } from '../../shared/blobs.ts';
import { ErrorCode, HangarError } from '../../shared/errors.ts';
import { toHex, uuidv7 } from '../../shared/ids.ts';
import { LIMITS, MAX_BLOB_BYTES } from '../../shared/limits.ts';
import {
  deleteUpload,
  findOpenUpload,
  getBlobRow,
  getGrantedBlob,
  getUploadRow,
  insertBlob,
  insertGrant,
  insertUpload,
  listUploadParts,
  listUploadPartsStatement,
  multipartKey,
  uploadDigestStatement,
  promoteVersionsWithBlob,
  recordPart,
  advanceDigest,
  singlePutKey,
  uploadNotFound,
  type UploadPartRow,
  type UploadRow,
} from '../db/blobs.ts';
import { ensureNamespace } from '../db/change-log.ts';
import { quotaError, readUsage, recountBlobBytes, withinQuota } from '../db/usage.ts';
import { resumeDigest, type PartDigest, type RunningDigest } from './running-digest.ts';
import { RecentMap } from '../recent-map.ts';

/** The bindings blob writes need. */
export type Stores = Pick<Env, 'DB' | 'BLOBS'>;

/**
 * How long an unfinished upload is offered again to a client that starts the same upload.
 * R2 aborts unfinished multipart uploads after 7 days, so stay well inside that.
 */
const RESUME_WINDOW_MS = 24 * 60 * 60 * 1000;

/** What a client needs to send (or resume sending) an upload's parts. */
export interface UploadStatus {
  uploadId: string;
  sha256: string;
  size: number;
  partSize: number;
  partCount: number;
  receivedParts: number[];
  missingParts: number[];
}

const sizeMismatch = (sha256: string, expected: number, got: number) =>
  new HangarError(ErrorCode.SizeMismatch, `Blob ${sha256} has ${expected} bytes, not ${got}; nothing was stored.`, {
    sha256,
    expected,
    size: got,
  });

const digestMismatch = (sha256: string) =>
  new HangarError(ErrorCode.DigestMismatch, `The bytes sent do not hash to ${sha256}; nothing was stored. Upload them again.`, { sha256 });

/** Raw bodies must announce their length (no chunked encoding), so sizes are checked before reading. */
export function requireLength(length: number | undefined): number {
  if (length === undefined) {
    throw new HangarError(ErrorCode.InvalidArgument, 'Send the bytes with a valid Content-Length header (no chunked encoding).');
  }
  return length;
}

/** Is this the R2 error of an upload that no longer exists (completed, aborted or expired)? */
export const isNoSuchUpload = (err: unknown) => err instanceof Error && /NoSuchUpload|multipart upload does not exist|\(10024\)/i.test(err.message);

export async function uploadStatus(db: D1Database, upload: UploadRow): Promise<UploadStatus> {
  return statusOf(upload, await listUploadParts(db, upload.id));
}

/** An upload's status from its row and the parts recorded for it. */
function statusOf(upload: UploadRow, parts: UploadPartRow[]): UploadStatus {
  const count = partCount(upload.size, upload.part_size);
  const received = new Set(parts.map((p) => p.part_number));
  const all = Array.from({ length: count }, (_, i) => i + 1);
  return {
    uploadId: upload.id,
    sha256: upload.sha256,
    size: upload.size,
    partSize: upload.part_size,
    partCount: count,
    receivedParts: all.filter((n) => received.has(n)),
    missingParts: all.filter((n) => !received.has(n)),
  };
}

/**
 * Uploads this isolate stored parts of lately, each as its row stood after the isolate's last
 * write to it, most recent last. The next part in order then goes to R2 at once, with no read of
 * the row first: a row's namespace, size, part size and R2 upload never change, and what it said
 * of the running digest is checked again by the part's own write in D1 (the digest moves on only
 * from the very state this isolate hashed on top of), so an entry gone stale costs the running
 * digest, never a wrong one. An upload completed or aborted meanwhile is found by R2 (no such
 * upload) or by that write (no row).
 */
const recentUploads = new RecentMap<string, UploadRow>(1000);

const remember = (row: UploadRow) => recentUploads.set(row.id, row);

/**
 * The upload's row for part `n`: as this isolate last wrote it when `n` comes next in order
 * after the parts it hashed, else read from D1 (404 `upload-not-found` for another namespace's).
 */
async function uploadForPart(db: D1Database, namespace: string, uploadId: string, n: number): Promise<UploadRow> {
  const recent = recentUploads.get(uploadId);
  if (recent && recent.namespace === namespace && recent.hashed_parts === n - 1) return recent;
  return getUploadRow(db, namespace, uploadId);
}

/**
 * Starts (or resumes) an upload. Answers `exists` only when this namespace already holds the
 * bytes: bytes another namespace uploaded get a fresh upload like any unknown blob, so no
 * namespace learns what others store, nor reads it by knowing a digest.
 */
export async function startUpload(
  { DB, BLOBS }: Stores,
  namespace: string,
  input: { sha256: string; size: number },
): Promise<{ result: StartUploadResult; created: boolean }> {
  const granted = await getGrantedBlob(DB, namespace, input.sha256);
  if (granted) {
    if (granted.size !== input.size) throw sizeMismatch(input.sha256, granted.size, input.size);
    return { result: { exists: true, sha256: input.sha256, size: input.size }, created: false };
  }
  await checkBlobRoom(DB, namespace, input.size);
  const open = await findOpenUpload(DB, namespace, input.sha256, input.size, Date.now() - RESUME_WINDOW_MS);
  if (open) {
    const status = await uploadStatus(DB, open);
    const { uploadId, partSize, receivedParts } = status;
    return { result: { exists: false, uploadId, partSize, partCount: status.partCount, receivedParts }, created: false };
  }
  const id = uuidv7();
  const key = multipartKey(input.sha256, id);
  const partSize = LIMITS.uploadPartBytes;
  const multipart = await BLOBS.createMultipartUpload(key);
  const row: UploadRow = {
    id,
    namespace,
    ...input,
    part_size: partSize,
    r2_key: key,
    r2_upload_id: multipart.uploadId,
    created_at: Date.now(),
    hashed_parts: 0,
    digest_state: null,
  };
  try {
    await insertUpload(DB, row).run();
  } catch (err) {
    await multipart.abort().catch(() => undefined);
    throw err;
  }
  remember(row);
  return { result: { exists: false, uploadId: id, partSize, partCount: partCount(input.size, partSize), receivedParts: [] }, created: true };
}

/**
 * Stores part `n` of an upload. Its length must be exactly what the part needs, so a
 * completed upload always satisfies R2's rule (every part but the last ≥ 5 MiB). One D1
 * batch per part, once R2 holds it (records it, moves the running digest on, reads back the
 * parts received); the row is read first only when this isolate did not write the part before.
 */
export async function putPart(
  { DB, BLOBS }: Stores,
  namespace: string,
  uploadId: string,
  n: number,
  contentLength: number | undefined,
  body: ReadableStream | null,
): Promise<{ part: number; size: number; receivedParts: number[] }> {
  const upload = await uploadForPart(DB, namespace, uploadId, n);
  const count = partCount(upload.size, upload.part_size);
  if (!Number.isSafeInteger(n) || n < 1 || n > count) {
    throw new HangarError(ErrorCode.InvalidArgument, `Part numbers of this upload run from 1 to ${count}.`, { part: n, partCount: count });
  }
  const expected = expectedPartSize(upload.size, upload.part_size, n);
  const length = requireLength(contentLength);
  if (length > upload.part_size) {
    throw new HangarError(ErrorCode.PayloadTooLarge, `Part ${n} is ${length} bytes; parts are at most ${upload.part_size}.`, {
      limit: upload.part_size,
    });
  }
  if (length !== expected) {
    throw new HangarError(ErrorCode.SizeMismatch, `Part ${n} must be exactly ${expected} bytes, not ${length}.`, { part: n, expected, size: length });
  }
  // The part is read whole (at most one part size), so it can be hashed on top of the parts
  // before it when it comes in order: the usual case, which spares completion a second read.
  const bytes = new Uint8Array(await new Response(body).arrayBuffer());
  if (bytes.length !== expected) throw partSizeMismatch(n, expected, bytes.length);
  const inOrder = n === upload.hashed_parts + 1;
  const digest = inOrder ? resumeDigest(upload.digest_state ? (JSON.parse(upload.digest_state) as RunningDigest) : null, upload.size) : null;
  let etag: string;
  try {
    // R2 takes the part while the part is hashed here.
    const stored = BLOBS.resumeMultipartUpload(upload.r2_key, upload.r2_upload_id).uploadPart(n, bytes);
    stored.catch(() => {});
    if (digest) await hashPart(digest, bytes);
    etag = (await stored).etag;
  } catch (err) {
    if (!isNoSuchUpload(err)) throw err;
    recentUploads.delete(upload.id);
    await DB.batch(deleteUpload(DB, upload.id));
    throw uploadNotFound(upload.id);
  }
  // In order: the state after this part, from the state the row held; null: part n came in
  // order but its digest cannot be gone on from here; undefined: out of order, so the digest
  // (if past n) no longer holds.
  const next = digest ? { from: upload.digest_state, state: JSON.stringify(digest.finish(n === count)) } : inOrder ? null : undefined;
  let written: D1Result[];
  try {
    written = await DB.batch([
      recordPart(DB, upload.id, { part_number: n, etag, size: length }),
      ...advanceDigest(DB, upload.id, n, next),
      uploadDigestStatement(DB, upload.id),
      listUploadPartsStatement(DB, upload.id),
    ]);
  } catch (err) {
    digest?.settle(false);
    recentUploads.delete(upload.id);
    throw err;
  }
  // The compare-and-set on the digest took: the row names this part's state.
  digest?.settle((written[1]?.meta.changes ?? 0) > 0);
  const row = written.at(-2)?.results[0] as Pick<UploadRow, 'hashed_parts' | 'digest_state'> | undefined;
  if (!row) {
    // Completed or aborted while the part went to R2: nothing was recorded.
    recentUploads.delete(upload.id);
    throw uploadNotFound(upload.id);
  }
  remember({ ...upload, hashed_parts: row.hashed_parts, digest_state: row.digest_state });
  const { receivedParts } = statusOf(upload, (written.at(-1)?.results ?? []) as UploadPartRow[]);
  return { part: n, size: length, receivedParts };
}

const partSizeMismatch = (n: number, expected: number, size: number) =>
  new HangarError(ErrorCode.SizeMismatch, `Part ${n} must be exactly ${expected} bytes, not ${size}.`, { part: n, expected, size });

/** Bytes hashed between pauses by a slow (wasm) digest. */
const SLICE_BYTES = 1024 * 1024;

/** Hashes a part; a slow digest pauses after each MiB so other work of the isolate (the part's write to R2) runs meanwhile. */
async function hashPart(digest: PartDigest, bytes: Uint8Array): Promise<void> {
  if (!digest.slow) return digest.update(bytes);
  for (let at = 0; at < bytes.length; at += SLICE_BYTES) {
    if (at > 0) await yieldToIo();
    digest.update(bytes.subarray(at, at + SLICE_BYTES));
  }
}

/** Lets the isolate's pending I/O (R2 taking a part) run before going on. */
const yieldToIo = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

/** True when the upload's running digest covers every part, so the stored object needs no second read. */
const runningDigestCovers = (upload: UploadRow, count: number) => upload.hashed_parts === count && upload.digest_state !== null;

/** What the running digest of a whole upload says: `undefined` when it is the announced digest. */
function digestProblem(upload: UploadRow): HangarError | undefined {
  const state = JSON.parse(upload.digest_state!) as RunningDigest;
  return 'digest' in state && state.digest === upload.sha256 ? undefined : digestMismatch(upload.sha256);
}

/** Hashes the stored object as a stream; `undefined` when it is the announced bytes, else why not. */
async function verifyObject(BLOBS: R2Bucket, key: string, sha256: string, size: number): Promise<HangarError | undefined> {
  const obj = await BLOBS.get(key);
  if (!obj) return digestMismatch(sha256);
  if (obj.size !== size) {
    await obj.body.cancel();
    return sizeMismatch(sha256, size, obj.size);
  }
  const ds = new crypto.DigestStream('SHA-256');
  await obj.body.pipeTo(ds);
  return toHex(await ds.digest) === sha256 ? undefined : digestMismatch(sha256);
}

/** The writes that make verified bytes readable by a namespace and its waiting versions ready. */
function grantWrites(db: D1Database, namespace: string, blob: { sha256: string; size: number; r2_key: string }, hlc: string) {
  return [
    ensureNamespace(db, namespace),
    insertBlob(db, blob),
    insertGrant(db, namespace, blob.sha256),
    // The blob bytes quota: the usage row's CHECK refuses a grant past it, and the batch with it.
    recountBlobBytes(db, namespace),
    ...promoteVersionsWithBlob(db, namespace, blob.sha256, hlc),
  ];
}

/** Refuses, before any bytes are sent, a new blob that would take the namespace past its blob bytes quota. */
async function checkBlobRoom(db: D1Database, namespace: string, size: number): Promise<void> {
  const { usage, quotas } = await readUsage(db, namespace);
  const limit = quotas.blobBytes;
  if (limit !== null && usage.blobBytes + size > limit) throw quotaError(namespace, 'blobBytes', limit, usage.blobBytes, size);
}

/** Bytes written to R2 that no blob row records (a refused grant) are deleted; a recorded key stays. */
async function dropUnrecorded({ DB, BLOBS }: Stores, sha256: string, key: string): Promise<void> {
  const kept = await getBlobRow(DB, sha256);
  if (!kept || kept.r2_key !== key) await BLOBS.delete(key);
}

/** When bytes were already recorded under another key, the copy just written is not needed. */
async function dropDuplicate({ DB, BLOBS }: Stores, sha256: string, key: string): Promise<void> {
  const kept = await getBlobRow(DB, sha256);
  if (kept && kept.r2_key !== key) await BLOBS.delete(key);
}

/**
 * Completes an upload: R2 joins the parts, then the server hashes what R2 stored. Only bytes
 * that match the announced size and digest are recorded and granted; anything else is deleted
 * and the upload ends, with nothing recorded.
 */
export async function completeUpload(stores: Stores, namespace: string, uploadId: string, hlc: string): Promise<{ sha256: string; size: number }> {
  const { DB, BLOBS } = stores;
  const upload = await getUploadRow(DB, namespace, uploadId);
  recentUploads.delete(upload.id);
  const recorded = await listUploadParts(DB, upload.id);
  const status = statusOf(upload, recorded);
  if (status.missingParts.length > 0) {
    throw new HangarError(ErrorCode.UploadIncomplete, `Upload ${uploadId} lacks ${status.missingParts.length} part(s); send them, then complete again.`, {
      missingParts: status.missingParts,
    });
  }
  const parts = recorded.map((p) => ({ partNumber: p.part_number, etag: p.etag }));
  try {
    await BLOBS.resumeMultipartUpload(upload.r2_key, upload.r2_upload_id).complete(parts);
  } catch (err) {
    if (!isNoSuchUpload(err)) throw err;
    await DB.batch(deleteUpload(DB, upload.id));
    throw uploadNotFound(upload.id);
  }
  const problem = runningDigestCovers(upload, status.partCount)
    ? digestProblem(upload)
    : await verifyObject(BLOBS, upload.r2_key, upload.sha256, upload.size);
  if (problem) {
    await BLOBS.delete(upload.r2_key);
    await DB.batch(deleteUpload(DB, upload.id));
    throw problem;
  }
  const blob = { sha256: upload.sha256, size: upload.size, r2_key: upload.r2_key };
  try {
    await withinQuota(DB, namespace, { blobBytes: upload.size }, () => DB.batch([...grantWrites(DB, namespace, blob, hlc), ...deleteUpload(DB, upload.id)]));
  } catch (err) {
    // The quota filled while the parts came: the joined bytes cannot be granted, so they go.
    if (err instanceof HangarError && err.code === ErrorCode.QuotaExceeded) {
      await dropUnrecorded(stores, upload.sha256, upload.r2_key);
      await DB.batch(deleteUpload(DB, upload.id));
    }
    throw err;
  }
  await dropDuplicate(stores, upload.sha256, upload.r2_key);
  return { sha256: upload.sha256, size: upload.size };
}

/**
 * Records bytes that an upload with no announced digest (MLflow's multipart uploads) left in R2
 * under `key`: hashes the stored object, then grants it like any verified blob. If the bytes are
 * stored already, this copy goes; bytes past the size limit or the namespace's quota go too, and
 * nothing is recorded.
 */
export async function adoptObject(stores: Stores, namespace: string, key: string, hlc: string): Promise<{ sha256: string; size: number }> {
  const { DB, BLOBS } = stores;
  const obj = await BLOBS.get(key);
  if (!obj) throw new HangarError(ErrorCode.BlobNotFound, 'The uploaded bytes are gone; upload them again.');
  if (obj.size > MAX_BLOB_BYTES) {
    await obj.body.cancel();
    await BLOBS.delete(key);
    throw new HangarError(ErrorCode.PayloadTooLarge, `A blob may be at most ${MAX_BLOB_BYTES} bytes; this one has ${obj.size}. Nothing was stored.`, {
      size: obj.size,
      limit: MAX_BLOB_BYTES,
    });
  }
  const ds = new crypto.DigestStream('SHA-256');
  await obj.body.pipeTo(ds);
  const blob = { sha256: toHex(await ds.digest), size: obj.size, r2_key: key };
  try {
    await withinQuota(DB, namespace, { blobBytes: blob.size }, () => DB.batch(grantWrites(DB, namespace, blob, hlc)));
  } catch (err) {
    await dropUnrecorded(stores, blob.sha256, key);
    throw err;
  }
  await dropDuplicate(stores, blob.sha256, key);
  return { sha256: blob.sha256, size: blob.size };
}

/** Aborts an upload: R2 drops its parts, and its rows go. */
export async function abortUpload({ DB, BLOBS }: Stores, namespace: string, uploadId: string): Promise<void> {
  const upload = await getUploadRow(DB, namespace, uploadId);
  recentUploads.delete(upload.id);
  try {
    await BLOBS.resumeMultipartUpload(upload.r2_key, upload.r2_upload_id).abort();
  } catch (err) {
    if (!isNoSuchUpload(err)) throw err;
  }
  await DB.batch(deleteUpload(DB, upload.id));
}

/** Is this R2's refusal of a put whose bytes do not match the given SHA-256? */
const isChecksumRefusal = (err: unknown) => err instanceof Error && /SHA-256 checksum|\(10037\)/i.test(err.message);

/**
 * Stores a small blob sent in one request. When verified bytes exist already (from any
 * namespace), the body is only hashed, not stored again; otherwise R2 stores it and itself
 * refuses bytes that do not match the digest. Either way the namespace proved it holds the
 * bytes, so it gets its grant.
 */
export async function putBlob(
  stores: Stores,
  namespace: string,
  sha256: string,
  length: number,
  body: ReadableStream | null,
  hlc: string,
): Promise<{ sha256: string; size: number }> {
  const { DB, BLOBS } = stores;
  const known = await getBlobRow(DB, sha256);
  if (!(await getGrantedBlob(DB, namespace, sha256))) await checkBlobRoom(DB, namespace, length);
  let blob = { sha256, size: length, r2_key: singlePutKey(sha256) };
  if (known) {
    const ds = new crypto.DigestStream('SHA-256');
    if (body) await body.pipeTo(ds);
    else await ds.getWriter().close();
    if (toHex(await ds.digest) !== sha256) throw digestMismatch(sha256);
    if (known.size !== length) throw sizeMismatch(sha256, known.size, length);
    blob = { sha256, size: known.size, r2_key: known.r2_key };
  } else {
    let stored: R2Object;
    try {
      stored = await BLOBS.put(blob.r2_key, body ?? new Uint8Array(0), { sha256 });
    } catch (err) {
      if (isChecksumRefusal(err)) throw digestMismatch(sha256);
      throw err;
    }
    // R2 checked the digest, so these are the right bytes whatever their length; the runtime
    // holds a body to its Content-Length, so this only guards against a broken client or proxy.
    if (stored.size !== length) throw sizeMismatch(sha256, stored.size, length);
  }
  try {
    await withinQuota(DB, namespace, { blobBytes: blob.size }, () => DB.batch(grantWrites(DB, namespace, blob, hlc)));
  } catch (err) {
    if (!known && err instanceof HangarError && err.code === ErrorCode.QuotaExceeded) await dropUnrecorded(stores, sha256, blob.r2_key);
    throw err;
  }
  if (!known) await dropDuplicate(stores, sha256, blob.r2_key);
  return { sha256, size: blob.size };
}
