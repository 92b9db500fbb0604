import { Hono, type Context } from 'hono';
import { saveCheckpointSchema } from '../../shared/checkpoints.ts';
import { nameSchema } from '../../shared/names.ts';
import { serverHlc } from '../clock.ts';
import { listCheckpoints, readCheckpoint, saveCheckpoint } from '../domain/checkpoints.ts';
import type { AppEnv } from '../env.ts';
import { parseWith, readBody } from '../http.ts';
import type { RouteDoc } from '../openapi.ts';
import { resolveParent } from '../parent.ts';

/** `…/models/{model}/versions/{number}/checkpoints`: Steamship-style named checkpoints of a version. */
export const checkpoints = new Hono<AppEnv>();

/** The version from the URL; this sub-app is only mounted under a version. */
async function versionOf(c: Context<AppEnv>) {
  const parent = await resolveParent(c);
  return { ...parent, version: parent.version! };
}

const handleOf = (c: Context<AppEnv>) => parseWith(nameSchema, c.req.param('handle'), 'checkpoint handle');

checkpoints.put('/:handle', async function saveCheckpointRoute(c) {
  const parent = await versionOf(c);
  const handle = handleOf(c);
  const input = await readBody(c, saveCheckpointSchema);
  const { checkpoint, created } = await saveCheckpoint(c.env.DB, parent, handle, input, serverHlc());
  return c.json(checkpoint, created ? 201 : 200);
});

checkpoints.get('/', async function listCheckpointsRoute(c) {
  const { version } = await versionOf(c);
  return c.json(await listCheckpoints(c.env.DB, version));
});

checkpoints.get('/:handle', async function readCheckpointRoute(c) {
  const { version } = await versionOf(c);
  return c.json(await readCheckpoint(c.env.DB, version, handleOf(c)));
});

const base = '/namespaces/{ns}/models/{model}/versions/{number}/checkpoints';
export const checkpointDocs: RouteDoc[] = [
  {
    method: 'put',
    path: `${base}/{handle}`,
    summary: 'Save a checkpoint (immutable); moves the default handle unless setAsDefault is false',
    body: saveCheckpointSchema,
    role: 'write',
  },
  { method: 'get', path: base, summary: "List a version's checkpoints and where default points", role: 'read' },
  { method: 'get', path: `${base}/{handle}`, summary: 'Read a checkpoint; "default" reads the one it points at', role: 'read' },
];
