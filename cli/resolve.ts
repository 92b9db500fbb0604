import { ErrorCode } from '../shared/errors.ts';
import type { Alias } from '../shared/aliases.ts';
import type { Page } from '../shared/pages.ts';
import { formatRef, type Ref } from '../shared/refs.ts';
import type { ModelVersion } from '../shared/versions.ts';
import { Api } from './api.ts';
import { CliError } from './errors.ts';

/** The version a reference names: by number, through an alias, or the latest ready one. */
export async function resolveVersion(api: Api, ref: Ref): Promise<ModelVersion> {
  const modelPath = Api.model(ref.namespace, ref.model);
  if (ref.kind === 'number') return api.json<ModelVersion>('GET', `${modelPath}/versions/${ref.number}`);
  if (ref.kind === 'alias') {
    const alias = await api.json<Alias>('GET', `${modelPath}/aliases/${encodeURIComponent(ref.alias)}`);
    return api.json<ModelVersion>('GET', `${modelPath}/versions/${alias.version}`);
  }
  const filter = encodeURIComponent("status = 'ready'");
  const page = await api.json<Page<ModelVersion>>('GET', `${modelPath}/versions?filter=${filter}&orderBy=number%20DESC&pageSize=1`);
  const latest = page.items[0];
  if (!latest) {
    throw new CliError(ErrorCode.VersionNotFound, `${formatRef(ref)} has no ready version yet.`, `Push one with "hangar push FILES --model ${formatRef(ref)}".`);
  }
  return latest;
}
