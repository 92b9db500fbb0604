import { aliasSchema, nameSchema } from '../shared/names.ts';
import { parseRef, type Ref } from '../shared/refs.ts';
import { usage } from './errors.ts';

const REF_HINT = 'A reference is "namespace/model", "namespace/model@alias" or "namespace/model/3".';

/** A reference given on the command line; malformed is a usage error (exit 2). */
export function parseRefArg(text: string): Ref {
  try {
    return parseRef(text);
  } catch {
    throw usage(`"${text}" is not a reference.`, REF_HINT);
  }
}

/** `namespace/model`, nothing more. */
export function parseModelName(text: string, what = 'the model'): { namespace: string; model: string } {
  const ref = (() => {
    try {
      return parseRef(text);
    } catch {
      return undefined;
    }
  })();
  if (!ref || ref.kind !== 'latest' || text.startsWith('hangar://')) {
    throw usage(`${what} "${text}" is not "namespace/model".`, 'Name a model as namespace/model, e.g. team/churn.');
  }
  return { namespace: ref.namespace, model: ref.model };
}

export function parseLabel(text: string): string {
  if (!nameSchema.safeParse(text).success) {
    throw usage(`--version "${text}" is not a version label.`, 'A label starts with a letter or digit and holds at most 128 letters, digits, ".", "_" or "-" (e.g. a git SHA).');
  }
  return text;
}

export function parseAlias(text: string, what = '--alias'): string {
  const r = aliasSchema.safeParse(text);
  if (!r.success) throw usage(`${what} "${text}" is not an alias: it ${r.error.issues[0]!.message}.`, 'Aliases look like production, staging or champion.');
  return text;
}

export function parseFramework(text: string): string {
  if (text.length > 64) throw usage('--framework is at most 64 characters.');
  return text;
}

/** A whole number of at least `min`, for flags like --concurrency and --step. */
export function parseInteger(text: string, flag: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const n = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) throw usage(`${flag} "${text}" must be a whole number from ${min} to ${max}.`);
  return n;
}
