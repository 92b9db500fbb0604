import { ErrorCode, HangarError } from './errors.ts';
import { ALIAS_PATTERN, NAMESPACE_PATTERN, NAME_PATTERN } from './names.ts';

/**
 * A reference to a model or version: `team/churn@production` (an alias), `team/churn/3`
 * (a version number), or `team/churn` (the latest ready version). A `hangar://` prefix is
 * allowed, as tfjs routers pass it.
 */
export type Ref =
  | { namespace: string; model: string; kind: 'alias'; alias: string }
  | { namespace: string; model: string; kind: 'number'; number: number }
  | { namespace: string; model: string; kind: 'latest' };

const REF = /^(?:hangar:\/\/)?([^/@]+)\/([^/@]+)(?:@([^/@]+)|\/(\d+))?$/;

/** Parses a reference, or throws `invalid-argument` saying what a reference looks like. */
export function parseRef(text: string): Ref {
  const m = REF.exec(text);
  const bad = () =>
    new HangarError(ErrorCode.InvalidArgument, `"${text}" is not a reference: use "namespace/model", "namespace/model@alias" or "namespace/model/3".`, {
      ref: text,
    });
  if (!m) throw bad();
  const [, namespace = '', model = '', alias, number] = m;
  if (!NAMESPACE_PATTERN.test(namespace) || !NAME_PATTERN.test(model)) throw bad();
  if (alias !== undefined) {
    if (!ALIAS_PATTERN.test(alias)) throw bad();
    return { namespace, model, kind: 'alias', alias };
  }
  if (number !== undefined) {
    const n = Number(number);
    if (!Number.isSafeInteger(n) || n < 1) throw bad();
    return { namespace, model, kind: 'number', number: n };
  }
  return { namespace, model, kind: 'latest' };
}

/** Prints a reference back. */
export function formatRef(ref: Ref): string {
  const base = `${ref.namespace}/${ref.model}`;
  return ref.kind === 'alias' ? `${base}@${ref.alias}` : ref.kind === 'number' ? `${base}/${ref.number}` : base;
}
