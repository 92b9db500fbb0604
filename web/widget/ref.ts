// Splits a reference (`ns/m`, `ns/m/3`, `ns/m@alias`, DESIGN §7a) into its parts. The rules
// for each part are checked where the reference is used (the client library or the server);
// the widget only splits, so its script-tag bundle does without shared/refs.ts and the zod
// schemas that module brings with it.
export type WidgetRef = { namespace: string; model: string; alias?: string; number?: number };

const REF = /^(?:hangar:\/\/)?([^/@]+)\/([^/@]+)(?:@([^/@]+)|\/(\d+))?$/;

export function splitRef(text: string): WidgetRef {
  const m = REF.exec(text.trim());
  if (!m) throw new Error(`"${text}" is not a reference: use "namespace/model", "namespace/model@alias" or "namespace/model/3".`);
  const [, namespace = '', model = '', alias, number] = m;
  return { namespace, model, ...(alias !== undefined ? { alias } : {}), ...(number !== undefined ? { number: Number(number) } : {}) };
}
