import { createHash } from 'node:crypto';
import { open, readdir, stat } from 'node:fs/promises';
import { basename, join, relative, sep } from 'node:path';
import { artifactPathProblem } from '../shared/names.ts';
import { CliCode, CliError, usage } from './errors.ts';

/** A local file to push: where it is, the artifact path it gets, and what it was when listed. */
export interface LocalFile {
  file: string;
  path: string;
  size: number;
  mtimeMs: number;
}

export interface HashedFile extends LocalFile {
  sha256: string;
}

/**
 * The files named on the command line: a file keeps its own name, a folder gives every file
 * under it with its path inside the folder. Paths must be valid artifact paths and distinct.
 */
export async function collectFiles(args: string[]): Promise<LocalFile[]> {
  const out: LocalFile[] = [];
  for (const arg of args) {
    const st = await stat(arg).catch(() => undefined);
    if (!st) throw new CliError(CliCode.FileNotFound, `"${arg}" does not exist or cannot be read.`, 'Check the path and run the command again.');
    if (st.isDirectory()) {
      const before = out.length;
      await walk(arg, arg, out);
      if (out.length === before) throw usage(`The folder "${arg}" holds no files.`, 'Name a folder with files, or the files themselves.');
    } else if (st.isFile()) out.push({ file: arg, path: basename(arg), size: st.size, mtimeMs: st.mtimeMs });
    else throw usage(`"${arg}" is neither a file nor a folder.`);
  }
  const seen = new Set<string>();
  for (const f of out) {
    const problem = artifactPathProblem(f.path);
    if (problem) throw usage(`"${f.file}" cannot be an artifact: its path "${f.path}" ${problem}.`, 'Rename the file or push its folder instead.');
    if (seen.has(f.path)) throw usage(`Two files would both be the artifact "${f.path}".`, 'Push files with distinct names, or their folders.');
    seen.add(f.path);
  }
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

async function walk(root: string, dir: string, out: LocalFile[]): Promise<void> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    const st = await stat(full);
    if (st.isDirectory()) await walk(root, full, out);
    else if (st.isFile()) out.push({ file: full, path: relative(root, full).split(sep).join('/'), size: st.size, mtimeMs: st.mtimeMs });
  }
}

/** Refuses a file that is no longer what was listed: its bytes would not match what was announced. */
export async function ensureUnchanged(f: LocalFile): Promise<void> {
  const st = await stat(f.file).catch(() => undefined);
  if (!st || st.size !== f.size || st.mtimeMs !== f.mtimeMs) {
    throw new CliError(
      CliCode.FileChanged,
      `"${f.file}" changed while it was being read or sent; nothing of it was recorded.`,
      'Run the command again once the file is final.',
      { file: f.file },
    );
  }
}

const HASH_CHUNK = 1024 * 1024;

/** SHA-256 of a file, read piece by piece into one reused buffer (never whole in memory, no garbage per piece). */
export async function hashFile(file: string, onBytes: (n: number) => void = () => {}): Promise<string> {
  const hash = createHash('sha256');
  const buffer = Buffer.allocUnsafe(HASH_CHUNK);
  const handle = await open(file, 'r');
  try {
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, HASH_CHUNK, null);
      if (bytesRead === 0) break;
      hash.update(buffer.subarray(0, bytesRead));
      onBytes(bytesRead);
    }
  } finally {
    await handle.close();
  }
  return hash.digest('hex');
}

/** Hashes each file, checking it did not change meanwhile. */
export async function hashFiles(files: LocalFile[], onBytes: (n: number) => void): Promise<HashedFile[]> {
  const out: HashedFile[] = [];
  for (const f of files) {
    const sha256 = await hashFile(f.file, onBytes);
    await ensureUnchanged(f);
    out.push({ ...f, sha256 });
  }
  return out;
}

/** Runs `fn` over `items` with at most `limit` running at once; the first failure stops the rest. */
export async function pool<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (!failed && next < items.length) {
      const item = items[next++]!;
      try {
        await fn(item);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
