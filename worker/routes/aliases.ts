import { Hono, type Context } from 'hono';
import { setAliasSchema } from '../../shared/aliases.ts';
import { ErrorCode, HangarError } from '../../shared/errors.ts';
import { aliasSchema } from '../../shared/names.ts';
import { serverHlc } from '../clock.ts';
import { aliasHistory, getAlias, listAliases } from '../db/aliases.ts';
import { getModelRow } from '../db/models.ts';
import { getVersionRow } from '../db/versions.ts';
import { deleteAlias, setAlias } from '../domain/aliases.ts';
import type { AppEnv } from '../env.ts';
import { parseWith, readBody } from '../http.ts';
import type { RouteDoc } from '../openapi.ts';

/** `/namespaces/{ns}/models/{model}/aliases` */
export const aliases = new Hono<AppEnv>();

async function target(c: Context<AppEnv>) {
  const model = await getModelRow(c.env.DB, c.req.param('ns')!, c.req.param('model')!);
  const alias = parseWith(aliasSchema, c.req.param('alias') ?? '', 'alias') as string;
  return { model, alias };
}

const ctxOf = (c: Context<AppEnv>) => ({ hlc: serverHlc(), tokenId: c.get('caller').tokenId });

aliases.get('/', async function listAliasesRoute(c) {
  const model = await getModelRow(c.env.DB, c.req.param('ns')!, c.req.param('model')!);
  return c.json({ items: await listAliases(c.env.DB, model.id) });
});

aliases.put('/:alias', async function setAliasRoute(c) {
  const { model, alias } = await target(c);
  const input = await readBody(c, setAliasSchema);
  const version = await getVersionRow(c.env.DB, model, input.version);
  let expected: { number: number | null; versionId: string | null } | undefined;
  if (input.expected === null) expected = { number: null, versionId: null };
  else if (input.expected !== undefined) {
    // An expected version that no longer exists cannot be where the alias points.
    const row = await getVersionRow(c.env.DB, model, input.expected).catch(() => undefined);
    expected = { number: input.expected, versionId: row?.id ?? `missing:${input.expected}` };
  }
  return c.json(await setAlias(c.env.DB, model, alias, version, expected, ctxOf(c)));
});

aliases.get('/:alias', async function getAliasRoute(c) {
  const { model, alias } = await target(c);
  const found = await getAlias(c.env.DB, model.id, alias);
  if (!found) throw new HangarError(ErrorCode.AliasNotFound, `Model "${model.name}" has no alias "${alias}".`, { alias });
  return c.json(found);
});

aliases.delete('/:alias', async function deleteAliasRoute(c) {
  const { model, alias } = await target(c);
  await deleteAlias(c.env.DB, model, alias, ctxOf(c));
  return c.body(null, 204);
});

aliases.get('/:alias/history', async function aliasHistoryRoute(c) {
  const { model, alias } = await target(c);
  return c.json({ items: await aliasHistory(c.env.DB, model.id, alias) });
});

const base = '/namespaces/{ns}/models/{model}/aliases';
export const aliasDocs: RouteDoc[] = [
  { method: 'get', path: base, summary: "List a model's aliases", role: 'read' },
  { method: 'put', path: `${base}/{alias}`, summary: 'Point an alias at a version (compare-and-set with expected)', body: setAliasSchema, role: 'write' },
  { method: 'get', path: `${base}/{alias}`, summary: 'Read an alias', role: 'read' },
  { method: 'delete', path: `${base}/{alias}`, summary: 'Delete an alias', role: 'write' },
  { method: 'get', path: `${base}/{alias}/history`, summary: "An alias's moves, oldest first", role: 'read' },
];
