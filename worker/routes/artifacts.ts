import { Hono } from 'hono';
import { registerArtifactSchema } from '../../shared/artifacts.ts';
import { ErrorCode, HangarError } from '../../shared/errors.ts';
import { artifactPathProblem } from '../../shared/names.ts';
import { serverHlc } from '../clock.ts';
import { getArtifactRow, listArtifactRows, rowToArtifact } from '../db/artifacts.ts';
import { registerArtifact } from '../domain/artifacts.ts';
import type { AppEnv } from '../env.ts';
import { readBody } from '../http.ts';
import type { RouteDoc } from '../openapi.ts';
import { resolveParent } from '../parent.ts';
import { readableBlob, serveBlob } from './blobs.ts';

/**
 * `…/models/{model}/artifacts` and `…/models/{model}/versions/{number}/artifacts`: one sub-app
 * mounted under both; `resolveParent` tells which.
 */
export const artifacts = new Hono<AppEnv>();

artifacts.post('/', async function registerArtifactRoute(c) {
  const parent = await resolveParent(c);
  const input = await readBody(c, registerArtifactSchema);
  const { artifact, created } = await registerArtifact(c.env.DB, parent, input, serverHlc());
  return c.json(artifact, created ? 201 : 200);
});

artifacts.get('/', async function listArtifactsRoute(c) {
  const parent = await resolveParent(c);
  return c.json({ items: (await listArtifactRows(c.env.DB, parent.id)).map(rowToArtifact) });
});

// Also answers HEAD. Hono has already decoded percent-escapes in the path (`%2F` included).
artifacts.get('/:path{.+}', async function readArtifactRoute(c) {
  const parent = await resolveParent(c);
  const path = c.req.param('path');
  const problem = artifactPathProblem(path);
  if (problem) throw new HangarError(ErrorCode.InvalidArgument, `Invalid artifact path: ${problem}.`, { path });
  const row = await getArtifactRow(c.env.DB, parent.id, path);
  if (!row) throw new HangarError(ErrorCode.ArtifactNotFound, `No artifact at "${path}".`, { path });
  if (row.url !== null) return c.redirect(row.url, 302);
  if (row.stored !== 1) {
    throw new HangarError(ErrorCode.BlobNotFound, `The bytes of "${path}" have not been uploaded to this namespace yet.`, {
      path,
      sha256: row.sha256,
    });
  }
  const blob = await readableBlob(c.env.DB, parent.namespace, row.sha256!);
  return serveBlob(c, blob, { contentType: row.mime_type, path });
});

function docsFor(base: string, owner: string): RouteDoc[] {
  return [
    { method: 'post', path: base, summary: `Register an uploaded or tracked artifact of a ${owner}`, body: registerArtifactSchema, role: 'write' },
    { method: 'get', path: base, summary: `List a ${owner}'s artifacts`, role: 'read' },
    {
      method: 'get',
      path: `${base}/{path}`,
      summary: `Read a ${owner}'s artifact: its bytes (also HEAD; Range supported), or a redirect for a tracked one`,
      role: 'read',
    },
  ];
}

export const artifactDocs: RouteDoc[] = [
  ...docsFor('/namespaces/{ns}/models/{model}/artifacts', 'model'),
  ...docsFor('/namespaces/{ns}/models/{model}/versions/{number}/artifacts', 'version'),
];
