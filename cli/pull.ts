import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, resolve, sep } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import type { Artifact } from '../shared/artifacts.ts';
import { ErrorCode } from '../shared/errors.ts';
import { formatRef } from '../shared/refs.ts';
import { Api, connect, type Connection } from './api.ts';
import { parseRefArg } from './args.ts';
import { CliCode, CliError } from './errors.ts';
import { hashFile, pool } from './files.ts';
import { formatBytes, type Output } from './output.ts';
import { resolveVersion } from './resolve.ts';
import type { CommandResult } from './result.ts';

export interface PullOptions {
  output: string;
  force?: boolean;
  concurrency: number;
}

interface Planned {
  artifact: Artifact & { sha256: string; size: number };
  target: string;
  /** The file is there already with these very bytes. */
  present: boolean;
}

/**
 * `hangar pull`: writes a version's files under a folder, each streamed to a temporary file,
 * hashed on the way and renamed into place only when it matches its SHA-256. Files of the
 * same names with other contents are refused unless --force, before anything is written.
 */
export async function pull(refText: string, opts: PullOptions, conn: Connection, out: Output): Promise<CommandResult> {
  const ref = parseRefArg(refText);
  const api = connect(conn);
  const version = await resolveVersion(api, ref);
  const versionPath = `${Api.model(ref.namespace, ref.model)}/versions/${version.number}`;
  const { items } = await api.json<{ items: Artifact[] }>('GET', `${versionPath}/artifacts`);
  const dir = resolve(opts.output);
  const tracked = items.filter((a) => a.url !== undefined || a.sha256 === null || a.size === null);
  const planned: Planned[] = [];
  for (const a of items) {
    if (tracked.includes(a)) continue;
    const target = resolve(dir, ...a.path.split('/'));
    // Artifact paths are relative without ".." (the server checks), but a file never lands outside the folder.
    if (!target.startsWith(dir + sep)) throw new CliError(ErrorCode.InvalidArgument, `The artifact path "${a.path}" leaves the folder.`);
    const existing = await stat(target).catch(() => undefined);
    const present = existing?.isFile() === true && existing.size === a.size && (await hashFile(target)) === a.sha256;
    if (existing && !present && !opts.force) {
      throw new CliError(
        CliCode.FileExists,
        `${target} exists with other contents; nothing was written.`,
        'Pass --force to overwrite the files, or pick another folder with -o DIR.',
        { file: target },
      );
    }
    planned.push({ artifact: a as Planned['artifact'], target, present });
  }
  const todo = planned.filter((p) => !p.present);
  const bar = out.progress('pulling', todo.reduce((s, p) => s + p.artifact.size, 0));
  await pool(todo, opts.concurrency, async (p) => download(api, versionPath, p, bar.add));
  bar.done();
  const name = `${ref.namespace}/${ref.model}/${version.number}`;
  const files = planned.map((p) => ({ path: p.artifact.path, file: p.target, size: p.artifact.size, sha256: p.artifact.sha256, state: p.present ? 'unchanged' : 'written' }));
  return {
    json: { ref: name, requested: formatRef(ref), number: version.number, dir, files, tracked: tracked.map((a) => ({ path: a.path, url: a.url ?? null })) },
    text: [
      ...files.map((f) => `${f.state === 'written' ? 'wrote    ' : 'unchanged'} ${f.path}  ${formatBytes(f.size)}`),
      ...tracked.map((a) => `skipped   ${a.path} (tracked${a.url ? ` at ${a.url}` : ''}: its bytes are not kept by Hangar)`),
      `pulled ${name} into ${dir}`,
    ],
    quiet: [],
  };
}

async function download(api: Api, versionPath: string, p: Planned, onBytes: (n: number) => void): Promise<void> {
  const path = p.artifact.path.split('/').map(encodeURIComponent).join('/');
  const res = await api.fetch('GET', `${versionPath}/artifacts/${path}`);
  await mkdir(dirname(p.target), { recursive: true });
  const partial = `${p.target}.hangar-partial`;
  const hash = createHash('sha256');
  let size = 0;
  try {
    const body = Readable.fromWeb(res.body as NodeReadableStream<Uint8Array>);
    body.on('data', (chunk: Buffer) => {
      hash.update(chunk);
      size += chunk.length;
      onBytes(chunk.length);
    });
    await pipeline(body, createWriteStream(partial));
  } catch (err) {
    await rm(partial, { force: true });
    throw err instanceof CliError ? err : new CliError(CliCode.Network, `Reading ${p.artifact.path} failed: ${(err as Error).message}.`, 'Run the same command again.');
  }
  const digest = hash.digest('hex');
  if (digest !== p.artifact.sha256 || size !== p.artifact.size) {
    await rm(partial, { force: true });
    throw new CliError(
      ErrorCode.DigestMismatch,
      `${p.artifact.path} arrived as ${size} bytes hashing to ${digest}, not the ${p.artifact.size} bytes of ${p.artifact.sha256}; the file was removed.`,
      'Run the same command again; if it persists, something between you and the server alters the bytes.',
      { path: p.artifact.path, expected: p.artifact.sha256, got: digest },
    );
  }
  await rename(partial, p.target);
}
