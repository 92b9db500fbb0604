import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ADMIN, call } from './api.ts';
import { fetchLimited } from './d1-limits.ts';

// The npm package `mlflow` (a Node client of MLflow's REST API written by others) driven against
// the Worker. It calls the global `fetch` it finds when loaded; here that fetch hands each request
// to the Worker in this workerd, under the production D1 limits (./d1-limits.ts).

type Client = {
  Experiments: { create(a: { name: string }): Promise<any>; get(a: { experiment_id: string }): Promise<any> };
  Runs: {
    create(a: { experiment_id: string; start_time?: number; tags?: { key: string; value: string }[] }): Promise<any>;
    get(a: { run_id: string }): Promise<any>;
    logMetric(a: { run_id: string; key: string; value: number; timestamp: number; step?: number }): Promise<any>;
    logParameter(a: { run_id: string; key: string; value: string }): Promise<any>;
    logBatch(a: { run_id: string; metrics?: unknown[]; params?: unknown[]; tags?: unknown[] }): Promise<any>;
    setTag(a: { run_id: string; key: string; value: string }): Promise<any>;
    search(a: { experiment_ids: string[]; filter?: string; order_by?: string[]; max_results?: number }): Promise<any>;
    update(a: { run_id: string; status: string; end_time: number }): Promise<any>;
  };
  Metrics: { getHistory(a: { run_id: string; metric_key: string }): Promise<any> };
};

let client: Client;
const NS = 'mlf-npm';

beforeAll(async () => {
  const real = globalThis.fetch;
  globalThis.fetch = ((input: RequestInfo | URL, init?: RequestInit) => fetchLimited(new Request(input, init)).then((r) => r.res)) as typeof fetch;
  try {
    const { default: MLflow } = (await import('mlflow')) as unknown as { default: new (a: { endpoint: string; headers: Record<string, string> }) => Client };
    client = new MLflow({ endpoint: `https://hangar.test/mlflow/${NS}`, headers: { Authorization: `Bearer ${ADMIN}` } });
  } finally {
    globalThis.fetch = real;
  }
  // The package prints every body it posts.
  vi.spyOn(console, 'log').mockImplementation(() => {});
});
afterAll(() => vi.restoreAllMocks());

describe('the npm mlflow client against Hangar', () => {
  it('creates an experiment and a run, logs metrics, params and tags, searches and finishes the run', async () => {
    const { experiment_id } = await client.Experiments.create({ name: 'npm-exp' });
    expect((await client.Experiments.get({ experiment_id })).experiment.name).toBe('npm-exp');
    const { run } = await client.Runs.create({ experiment_id, start_time: 1_700_000_000_000, tags: [{ key: 'source', value: 'node' }] });
    const run_id = run.info.run_id as string;
    for (let step = 0; step < 3; step++) await client.Runs.logMetric({ run_id, key: 'loss', value: 1 / (step + 1), timestamp: 1_700_000_000_000 + step, step });
    await client.Runs.logParameter({ run_id, key: 'lr', value: '0.01' });
    await client.Runs.logBatch({ run_id, params: [{ key: 'epochs', value: '3' }], metrics: [{ key: 'acc', value: 0.9, timestamp: 1_700_000_000_010, step: 2 }], tags: [] });
    await client.Runs.setTag({ run_id, key: 'team', value: 'growth' });
    await expect(client.Runs.logParameter({ run_id, key: 'lr', value: '0.02' })).rejects.toThrow(/INVALID_PARAMETER_VALUE/);

    const got = (await client.Runs.get({ run_id })).run;
    expect(got.data.params).toEqual([{ key: 'epochs', value: '3' }, { key: 'lr', value: '0.01' }]);
    expect(got.data.tags).toEqual(expect.arrayContaining([{ key: 'source', value: 'node' }, { key: 'team', value: 'growth' }]));
    const history = await client.Metrics.getHistory({ run_id, metric_key: 'loss' });
    expect(history.metrics.map((m: { step: number; value: number }) => [m.step, m.value])).toEqual([[0, 1], [1, 0.5], [2, 1 / 3]]);

    const found = await client.Runs.search({ experiment_ids: [experiment_id], filter: "params.lr = '0.01' and metrics.acc > 0.5" });
    expect(found.runs.map((r: { info: { run_id: string } }) => r.info.run_id)).toEqual([run_id]);
    expect((await client.Runs.update({ run_id, status: 'FINISHED', end_time: 1_700_000_001_000 })).run_info.status).toBe('FINISHED');

    // The same run through Hangar's own API: a ready version of the experiment, with its params.
    const version = (await call('GET', `/namespaces/${NS}/models/npm-exp/versions/1`)).body;
    expect(version).toMatchObject({ id: run_id, status: 'ready' });
    expect((await call('GET', `/namespaces/${NS}/models/npm-exp/versions/1/params`)).body.params).toEqual({ epochs: '3', lr: '0.01' });
  });
});
