// The source over a client instance (`openRegistry()`): this browser's IndexedDB, live.
import type { Hangar } from '../client/registry.ts';
import type { ModelHandle } from '../client/model.ts';
import type { VersionHandle } from '../client/version.ts';
import type { ModelSummary, Target, VersionSummary, WidgetSource } from './source.ts';

const modelSummary = (m: ModelHandle): ModelSummary => ({
  namespace: m.namespace,
  name: m.name,
  owner: m.owner,
  task: m.task,
  description: m.description,
  updatedAt: m.updatedAt,
});

const versionSummary = (v: VersionHandle): VersionSummary => ({
  namespace: v.namespace,
  model: v.model,
  number: v.number,
  numberConfirmed: v.numberConfirmed,
  version: v.version,
  name: v.name,
  description: v.description,
  framework: v.framework,
  status: v.status,
  uniqueTags: v.uniqueTags,
  createdAt: v.createdAt,
});

export function clientSource(hangar: Hangar): WidgetSource {
  const parent = async (t: Target) => {
    const model = await hangar.model(t.namespace, t.model);
    return t.number === undefined ? model : model.version(t.number);
  };
  return {
    label: 'this browser',
    async models({ namespace, filter }) {
      const models = await hangar.models({ ...(namespace ? { namespace } : {}), ...(filter ? { filter } : {}) });
      return models.map(modelSummary);
    },
    async model(namespace, name) {
      const m = await hangar.model(namespace, name);
      const [metadata, aliases] = await Promise.all([m.metadata(), m.aliases()]);
      return { ...modelSummary(m), metadata, aliases };
    },
    async versions(namespace, model) {
      return (await (await hangar.model(namespace, model)).versions()).map(versionSummary);
    },
    async version(ref) {
      const v = await hangar.find(ref);
      return { ...versionSummary(v), metadata: await v.metadata() };
    },
    metrics: async (t) => (await parent(t)).metrics(),
    metricHistory: async (t, key, opts = {}) => (await parent(t)).metricHistory(key, opts),
    artifacts: async (t) => (await parent(t)).artifacts(),
    readArtifact: async (t, path, onProgress) => (await parent(t)).readArtifact(path, { onProgress }),
    async checkpoints(t) {
      const v = await (await hangar.model(t.namespace, t.model)).version(t.number);
      return v.checkpoints();
    },
    watch(query, next, error) {
      const subscription = hangar.live(query).subscribe({ next, error });
      return () => subscription.unsubscribe();
    },
  };
}
