import { Api, connect, type Connection } from './api.ts';
import { parseInteger, parseRefArg } from './args.ts';
import { usage } from './errors.ts';
import { parseMetricPairs } from './inputs.ts';
import { resolveVersion } from './resolve.ts';
import type { CommandResult } from './result.ts';

/** `hangar log <ref> key=value… [--step N]`: metric points on a version. */
export async function log(refText: string, pairs: string[], opts: { step?: string }, conn: Connection): Promise<CommandResult> {
  const ref = parseRefArg(refText);
  if (pairs.length === 0) throw usage('No metric points given.', 'Write them as key=number, e.g. hangar log team/churn/3 accuracy=0.93.');
  const values = parseMetricPairs(pairs);
  const step = opts.step === undefined ? undefined : parseInteger(opts.step, '--step', 0);
  const api = connect(conn);
  const version = await resolveVersion(api, ref);
  const name = `${ref.namespace}/${ref.model}/${version.number}`;
  const wallclock = Date.now();
  const metrics = Object.entries(values).map(([key, value]) => ({ key, value, wallclock, ...(step !== undefined ? { step } : {}) }));
  await api.json('POST', `${Api.model(ref.namespace, ref.model)}/versions/${version.number}/metrics`, { json: { metrics } });
  return {
    json: { ref: name, step: step ?? 0, metrics: values },
    text: [`logged ${metrics.map((m) => `${m.key}=${m.value}`).join(' ')} on ${name}${step !== undefined ? ` at step ${step}` : ''}`],
    quiet: [],
  };
}
