import { createHash } from 'node:crypto';
import { open, readFile } from 'node:fs/promises';
import { expectedPartSize, type StartUploadResult } from '../shared/blobs.ts';
import { ErrorCode, HangarError } from '../shared/errors.ts';
import { LIMITS } from '../shared/limits.ts';
import type { Api } from './api.ts';
import { CliCode, CliError } from './errors.ts';
import { ensureUnchanged, pool, type HashedFile } from './files.ts';

/** What sending one file took: `exists` when the server held the bytes already. */
export interface UploadResult {
  path: string;
  sha256: string;
  size: number;
  state: 'exists' | 'sent';
  /** Parts sent by this run, and parts the server already held from an earlier one. */
  partsSent: number;
  partsSkipped: number;
}

const changed = (f: HashedFile) =>
  new CliError(
    CliCode.FileChanged,
    `"${f.file}" changed while it was being sent: its bytes no longer hash to what was read first. Nothing of it was recorded.`,
    'Run the command again once the file is final.',
    { file: f.file },
  );

/** Server refusals that mean the bytes sent are not the bytes announced, i.e. the file changed. */
const isMismatch = (err: unknown) =>
  err instanceof HangarError && (err.code === ErrorCode.DigestMismatch || err.code === ErrorCode.SizeMismatch);

/**
 * Sends a file's bytes to the namespace's blob store. A file of at most one part goes in one
 * verified request; a larger one as a multipart upload that resumes: the server answers which
 * parts of an earlier, interrupted upload it holds, and only the others are sent, up to
 * `concurrency` at a time, each read from disk when it is sent.
 */
export async function uploadFile(
  api: Api,
  namespace: string,
  f: HashedFile,
  opts: { concurrency: number; onBytes: (n: number) => void },
): Promise<UploadResult> {
  const blobs = `/namespaces/${encodeURIComponent(namespace)}/blobs`;
  const base = { path: f.path, sha256: f.sha256, size: f.size };
  if (f.size <= LIMITS.uploadPartBytes) {
    const bytes = await readFile(f.file);
    if (createHash('sha256').update(bytes).digest('hex') !== f.sha256) throw changed(f);
    await api.sendBytes('PUT', `${blobs}/sha256/${f.sha256}`, bytes).catch((err) => {
      throw isMismatch(err) ? changed(f) : err;
    });
    opts.onBytes(f.size);
    return { ...base, state: 'sent', partsSent: 1, partsSkipped: 0 };
  }
  const start = await api.json<StartUploadResult>('POST', `${blobs}/uploads`, { json: { sha256: f.sha256, size: f.size } });
  if (start.exists) {
    opts.onBytes(f.size);
    return { ...base, state: 'exists', partsSent: 0, partsSkipped: 0 };
  }
  const upload = `${blobs}/uploads/${encodeURIComponent(start.uploadId)}`;
  const held = new Set(start.receivedParts);
  const missing = Array.from({ length: start.partCount }, (_, i) => i + 1).filter((n) => !held.has(n));
  for (const n of held) opts.onBytes(expectedPartSize(f.size, start.partSize, n));
  const handle = await open(f.file, 'r');
  // One buffer per part in flight, reused: memory stays at `concurrency` parts whatever the file's size.
  const free: Buffer[] = [];
  try {
    await pool(missing, opts.concurrency, async (n) => {
      const length = expectedPartSize(f.size, start.partSize, n);
      const buffer = free.pop() ?? Buffer.allocUnsafe(start.partSize);
      try {
        const part = buffer.subarray(0, length);
        const { bytesRead } = await handle.read(part, 0, length, (n - 1) * start.partSize);
        if (bytesRead !== length) throw changed(f);
        await api.sendBytes('PUT', `${upload}/parts/${n}`, part);
      } finally {
        free.push(buffer);
      }
      opts.onBytes(length);
    });
  } finally {
    await handle.close();
  }
  try {
    await ensureUnchanged(f);
  } catch (err) {
    // The parts sent may mix old and new bytes: drop them so a re-run starts clean.
    await api.fetch('DELETE', upload).catch(() => undefined);
    throw err;
  }
  await api.json('POST', `${upload}/complete`).catch((err) => {
    throw isMismatch(err) ? changed(f) : err;
  });
  return { ...base, state: 'sent', partsSent: missing.length, partsSkipped: held.size };
}
