import type { Model } from '../shared/models.ts';
import { NAMESPACE_PATTERN } from '../shared/names.ts';
import { LIMITS } from '../shared/limits.ts';
import type { Page } from '../shared/pages.ts';
import type { ModelVersion } from '../shared/versions.ts';
import { Api, connect, type Connection } from './api.ts';
import { parseModelName } from './args.ts';
import { usage } from './errors.ts';
import type { CommandResult } from './result.ts';

/** Every item of a listing, page after page. */
async function listAll<T>(api: Api, path: string, filter: string | undefined): Promise<T[]> {
  const items: T[] = [];
  let token: string | undefined;
  do {
    const q = new URLSearchParams({ pageSize: String(LIMITS.pageSizeMax) });
    if (filter) q.set('filter', filter);
    if (token) q.set('pageToken', token);
    const page = await api.json<Page<T>>('GET', `${path}?${q}`);
    items.push(...page.items);
    token = page.nextPageToken;
  } while (token);
  return items;
}

/** Rows as aligned columns. */
function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd());
}

/** `hangar ls`: namespaces; `ls ns`: its models; `ls ns/model`: its versions. */
export async function ls(target: string | undefined, opts: { filter?: string }, conn: Connection): Promise<CommandResult> {
  if (target === undefined) {
    if (opts.filter) throw usage('--filter needs a namespace or a model.', 'Write "hangar ls NAMESPACE --filter EXPR".');
    const api = connect(conn);
    const { items } = await api.json<{ items: { name: string }[] }>('GET', '/namespaces');
    return { json: { namespaces: items.map((n) => n.name) }, text: items.map((n) => n.name), quiet: items.map((n) => n.name) };
  }
  if (!target.includes('/')) {
    if (!NAMESPACE_PATTERN.test(target)) throw usage(`"${target}" is not a namespace.`, 'Namespaces are lower-case letters, digits and "-", e.g. team.');
    const api = connect(conn);
    const models = await listAll<Model>(api, `/namespaces/${encodeURIComponent(target)}/models`, opts.filter);
    const rows = models.map((m) => [
      `${m.namespace}/${m.name}`,
      m.task ?? '',
      Object.entries(m.aliases).map(([a, n]) => `${a}→${n}`).join(' '),
      m.updatedAt,
    ]);
    return {
      json: { namespace: target, models },
      text: models.length ? table([['MODEL', 'TASK', 'ALIASES', 'UPDATED'], ...rows]) : [`no models in ${target}`],
      quiet: models.map((m) => `${m.namespace}/${m.name}`),
    };
  }
  const { namespace, model } = parseModelName(target);
  const api = connect(conn);
  const versions = await listAll<ModelVersion>(api, `${Api.model(namespace, model)}/versions`, opts.filter);
  const rows = versions.map((v) => [`${namespace}/${model}/${v.number}`, v.version ?? '', v.status, v.uniqueTags.join(' '), v.createdAt]);
  return {
    json: { namespace, model, versions },
    text: versions.length ? table([['VERSION', 'LABEL', 'STATUS', 'ALIASES', 'CREATED'], ...rows]) : [`no versions of ${namespace}/${model}`],
    quiet: versions.map((v) => `${namespace}/${model}/${v.number}`),
  };
}
