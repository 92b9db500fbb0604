import type { Alias } from '../shared/aliases.ts';
import { Api, connect, type Connection } from './api.ts';
import { parseAlias, parseInteger, parseModelName } from './args.ts';
import type { CommandResult } from './result.ts';

/** `hangar alias <ns/model> <alias> <number> [--expected N]`: moves an alias, compare-and-set with --expected. */
export async function alias(target: string, name: string, numberText: string, opts: { expected?: string }, conn: Connection): Promise<CommandResult> {
  const { namespace, model } = parseModelName(target);
  const aliasName = parseAlias(name, 'the alias');
  const version = parseInteger(numberText, 'the version number', 1);
  const expected = opts.expected === undefined ? undefined : parseInteger(opts.expected, '--expected', 1);
  const api = connect(conn);
  const body = { version, ...(expected !== undefined ? { expected } : {}) };
  const moved = await api.json<Alias>('PUT', `${Api.model(namespace, model)}/aliases/${encodeURIComponent(aliasName)}`, { json: body });
  const ref = `${namespace}/${model}/${moved.version}`;
  return { json: { namespace, model, ...moved, ref }, text: [`${namespace}/${model}@${aliasName} → ${ref}`], quiet: [] };
}
