// MLflow clients log to Hangar, and the app shows it (issue: experiments, runs, params): runs
// logged through the MLflow routes exactly as MLflow's Python client sends them (plain HTTP, the
// same JSON), synced into the app in Chromium, filtered, compared, followed as remote jobs, and
// the registered version loaded by hangar:// with tfjs.
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { expectNoPageErrors, test } from './browser.ts';
import { buildApp, serveApp, type AppServer } from './fixtures/app/serve.ts';
import { go, heading, shoot } from './fixtures/app/ui.ts';
import { JOBS_PAGE } from './fixtures/jobs-tests.ts';
import { startServer, type HangarServer } from './server.ts';

let app: AppServer;
let server: HangarServer;
let token: string;
const NS = 'mlf';

beforeAll(async () => {
  [server, app] = await Promise.all([startServer(), buildApp('app-mlflow-dist').then(serveApp)]);
  token = await server.token(NS, 'write');
}, 180_000);

afterAll(async () => {
  await app?.stop();
  await server?.close();
});

/** One MLflow REST call as the client makes it: POST with a JSON body (GET with a query), `Authorization: Bearer`. */
async function mlflow(path: string, body: Record<string, unknown>, method: 'POST' | 'GET' = 'POST'): Promise<any> {
  const url = new URL(`${server.url}/mlflow/${NS}/api/2.0/mlflow/${path}`);
  if (method === 'GET') for (const [k, v] of Object.entries(body)) url.searchParams.set(k, String(v));
  const res = await fetch(url, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(method === 'POST' ? { 'content-type': 'application/json' } : {}) },
    ...(method === 'POST' ? { body: JSON.stringify(body) } : {}),
  });
  const json = await res.json();
  if (!res.ok) throw new Error(`${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

/** `mlflow.log_artifact` through the proxied artifact store. */
async function putArtifact(path: string, bytes: Uint8Array<ArrayBuffer>): Promise<void> {
  const res = await fetch(`${server.url}/mlflow/${NS}/api/2.0/mlflow-artifacts/artifacts/${path}`, { method: 'PUT', headers: { authorization: `Bearer ${token}` }, body: bytes });
  if (!res.ok) throw new Error(`artifact ${path}: ${res.status} ${await res.text()}`);
}

/** A run as `with mlflow.start_run(): log_params(...); log_metric(...) per step` leaves it. */
async function logRun(experimentId: string, name: string, params: Record<string, string>, losses: number[], status: 'FINISHED' | 'RUNNING'): Promise<string> {
  const start = Date.now() - 120_000;
  const { run } = await mlflow('runs/create', { experiment_id: experimentId, start_time: start, run_name: name, tags: [{ key: 'mlflow.user', value: 'ci' }, { key: 'mlflow.source.name', value: 'train.py' }] });
  const runId = run.info.run_id as string;
  await mlflow('runs/log-batch', {
    run_id: runId,
    params: Object.entries(params).map(([key, value]) => ({ key, value })),
    metrics: losses.map((value, step) => ({ key: 'loss', value, timestamp: start + step * 1000, step })),
    tags: [{ key: 'team', value: 'growth' }],
  });
  if (status === 'FINISHED') await mlflow('runs/update', { run_id: runId, run_uuid: runId, status: 'FINISHED', end_time: start + 60_000 });
  return runId;
}

describe('MLflow runs in the app', () => {
  test('a run logged through the MLflow routes appears after a sync, is compared with another, followed as a job, and its registered version loads by hangar://', { timeout: 240_000 }, async ({ browser }) => {
    // A small tfjs model, made in a page with tfjs, as the files a Python job would export.
    const lib = await browser.newPage(JOBS_PAGE);
    const made = await lib.evaluate(async () => {
      const { tf, tfl } = await window.jobsKit.tf();
      const model = tfl.sequential({ layers: [tfl.layers.dense({ units: 2, inputShape: [3], activation: 'softmax' })] });
      const x = tf.tensor2d([[0.1, 0.2, 0.3]]);
      const before = Array.from(await (model.predict(x) as typeof x).data());
      let files: { json: string; weights: number[] } = { json: '', weights: [] };
      await model.save(
        tf.io.withSaveHandler(async (a) => {
          const json = { modelTopology: a.modelTopology, format: a.format, weightsManifest: [{ paths: ['weights.bin'], weights: a.weightSpecs }] };
          const data = new Uint8Array(await new Blob(Array.isArray(a.weightData) ? a.weightData : [a.weightData!]).arrayBuffer());
          files = { json: JSON.stringify(json), weights: Array.from(data) };
          return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(a) };
        }),
      );
      return { before, ...files };
    });

    // CI logs three runs with MLflow's client: two finished, one still running; registers the first's model.
    const { experiment_id: expId } = await mlflow('experiments/create', { name: 'churn-exp' });
    const a = await logRun(expId, 'run-a', { lr: '0.01', epochs: '5', optimizer: 'adam' }, [0.9, 0.6, 0.4, 0.3, 0.25], 'FINISHED');
    await putArtifact(`${expId}/${a}/artifacts/model/model.json`, new TextEncoder().encode(made.json));
    await putArtifact(`${expId}/${a}/artifacts/model/weights.bin`, new Uint8Array(made.weights));
    const b = await logRun(expId, 'run-b', { lr: '0.1', epochs: '5', optimizer: 'adam' }, [0.8, 0.7, 0.65, 0.6, 0.58], 'FINISHED');
    const c = await logRun(expId, 'run-c', { lr: '0.05', epochs: '10', optimizer: 'sgd' }, [1, 0.9, 0.8, 0.7, 0.6], 'RUNNING');
    await mlflow('registered-models/create', { name: 'churn' });
    const { model_version: mv } = await mlflow('model-versions/create', { name: 'churn', source: `runs:/${a}/model`, run_id: a });
    expect(mv).toMatchObject({ version: '1', status: 'READY', run_id: a });
    await mlflow('registered-models/alias', { name: 'churn', alias: 'champion', version: '1' });

    // The library in Chromium: after a sync, hangar://mlf/churn@champion loads with tfjs and predicts as the original.
    const loaded = await lib.evaluate(
      async ({ url, token }) => {
        const hangar = await window.openRegistry({ name: 'mlflow-lib' });
        await hangar.sync({ url, token, namespaces: ['mlf'] });
        await hangar.syncNow();
        const { tf, tfl } = await window.jobsKit.tf();
        window.hangar!.registerHangarRouters(tf.io, hangar);
        const model = await tfl.loadLayersModel('hangar://mlf/churn@champion');
        const after = Array.from(await (model.predict(tf.tensor2d([[0.1, 0.2, 0.3]])) as ReturnType<typeof tf.tensor2d>).data());
        const version = await hangar.find('mlf/churn@champion');
        const jobs = (await hangar.jobs()).map((j) => [j.id, j.status, j.progress?.epoch, j.progress?.epochs]);
        const experiments = (await hangar.experiments()).map((e) => e.name);
        const models = (await hangar.models()).map((m) => m.name);
        await hangar.close();
        return { after, source: version.sourceVersionId, jobs, experiments, models };
      },
      { url: server.url, token },
    );
    expect(loaded.after).toEqual(made.before);
    expect(loaded.source).toBe(a);
    expect(loaded.experiments).toEqual(['churn-exp']);
    expect(loaded.models).toEqual(['churn']);
    expect(loaded.jobs).toEqual(
      expect.arrayContaining([
        [`remote:${c}`, 'running', 4, 10],
        [`remote:${a}`, 'completed', 5, 5],
      ]),
    );
    expectNoPageErrors(lib);

    // The app: connect to the server, sync, and find the experiment apart from the registered models.
    const page = await browser.newPage(`${app.url}/settings`);
    await page.getByLabel('Server URL').fill(server.url);
    await page.getByLabel('Token').fill(token);
    await page.getByRole('button', { name: 'Check server' }).click();
    await expect.poll(() => page.getByRole('checkbox', { name: NS }).isChecked()).toBe(true);
    await page.getByRole('button', { name: 'Start syncing' }).click();
    await expect.poll(() => page.getByText(`Syncing ${NS} with`).count()).toBeGreaterThan(0);
    await go(page, 'Experiments', 'Experiments');
    const experiments = page.locator('#experiments');
    await expect.poll(() => experiments.getByRole('link', { name: 'churn-exp' }).count(), { timeout: 30_000 }).toBe(1);
    await go(page, 'Models', 'Models');
    await expect.poll(() => page.getByRole('option', { name: /churn/ }).count()).toBe(1);
    expect(await page.getByRole('option', { name: /churn-exp/ }).count()).toBe(0);

    // Its runs: status, params and final metrics.
    await go(page, 'Experiments', 'Experiments');
    await experiments.getByRole('link', { name: 'churn-exp' }).click();
    await expect.poll(() => heading(page)).toBe(`${NS}/churn-exp`);
    const runs = page.locator('#runs tbody tr');
    await expect.poll(() => runs.count()).toBe(3);
    const rowOf = (name: string) => page.locator('#runs tbody tr', { has: page.getByRole('link', { name, exact: true }) });
    expect(await rowOf('run-a').locator('td').allTextContents()).toEqual(['', 'run-a', 'FINISHED', '5', '0.01', 'adam', '0.2500']);
    expect(await rowOf('run-c').locator('td').nth(2).textContent()).toBe('RUNNING');
    await shoot(page, 'experiment-runs');

    // The filter box: the filter language, params compared as numbers.
    await page.getByLabel('Filter runs').fill("params.lr < 0.06 AND params.optimizer = 'adam'");
    await page.getByRole('button', { name: 'Filter', exact: true }).click();
    await expect.poll(() => runs.count()).toBe(1);
    expect(await runs.getByRole('link').textContent()).toBe('run-a');
    await page.getByLabel('Filter runs').fill('params.lr >');
    await page.getByRole('button', { name: 'Filter', exact: true }).click();
    await expect.poll(() => page.getByRole('alert').count()).toBe(1);
    await page.getByLabel('Filter runs').fill('');
    await page.getByRole('button', { name: 'Filter', exact: true }).click();
    await expect.poll(() => runs.count()).toBe(3);

    // Compare run-a with run-b: one table, differing rows marked; both runs' loss on one chart.
    await page.getByRole('checkbox', { name: 'Compare run-a' }).check();
    await page.getByRole('checkbox', { name: 'Compare run-b' }).check();
    await page.getByRole('button', { name: 'Compare 2 runs' }).click();
    await expect.poll(() => heading(page)).toBe('Compare runs of churn-exp');
    const compare = page.locator('#compare');
    await expect.poll(() => compare.locator('tr[data-key="lr"]').count()).toBe(1);
    const differs = async (key: string) => (await compare.locator(`tr[data-key="${key}"]`).getAttribute('data-differs')) === 'true';
    expect(await compare.locator('tr[data-key="lr"] td').allTextContents()).toEqual(['0.01', '0.1']);
    expect([await differs('lr'), await differs('epochs'), await differs('optimizer'), await differs('loss'), await differs('status')]).toEqual([true, false, false, true, false]);
    expect(await compare.locator('tr[data-key="loss"] td').allTextContents()).toEqual(['0.2500', '0.5800']);
    await expect
      .poll(() => page.locator('#compare-chart').evaluate((el) => (el as HTMLElement & { drawn?: { series: string[]; points: number } }).drawn))
      .toEqual({ series: ['run-a · loss', 'run-b · loss'], points: 5 });
    await shoot(page, 'compare-runs');

    // The run page: params, tags, a chart per metric, artifacts, and the registered version it became.
    await compare.getByRole('link', { name: 'run-a' }).click();
    await expect.poll(() => heading(page)).toBe('churn-exp · run-a');
    expect(await page.locator('#run-status').textContent()).toBe('FINISHED');
    expect(await page.locator('#params tbody tr').allTextContents()).toEqual(['epochs5', 'lr0.01', 'optimizeradam']);
    expect(await page.locator('#tags').getByText('growth').count()).toBe(1);
    expect(await page.locator('#tags').getByText('hangar.mlflow.', { exact: false }).count()).toBe(0);
    // Artifacts and lineage are read apart from the run (the charts do not wait for them).
    await expect.poll(() => page.locator('#artifacts tbody td:first-child').allTextContents()).toEqual(['model/model.json', 'model/weights.bin']);
    await expect.poll(() => page.locator('hangar-metrics-chart').first().evaluate((el) => (el as HTMLElement & { drawn?: { points: number } }).drawn?.points)).toBe(5);
    const lineage = page.locator('#lineage').getByRole('link', { name: `${NS}/churn version 1` });
    expect(await lineage.count()).toBe(1);
    await shoot(page, 'run');
    await lineage.click();
    await expect.poll(() => heading(page)).toBe(`${NS}/churn/1`);
    expect(await page.locator('#registered-from').getByRole('link').textContent()).toContain('run-a');

    // The jobs page: the running CI run beside local jobs, as a remote job with its progress; cancel kills it on the server.
    await go(page, 'Jobs', 'Jobs');
    const job = page.locator(`tr[data-job="remote:${c}"]`);
    await expect.poll(() => job.locator('td').nth(2).textContent()).toBe('running');
    expect(await job.locator('td').nth(3).textContent()).toContain('4/10');
    expect(await page.locator(`tr[data-job="remote:${b}"] td`).nth(2).textContent()).toBe('completed');
    await job.getByRole('button', { name: 'Cancel' }).click();
    await expect.poll(() => job.locator('td').nth(2).textContent()).toBe('canceled');
    await expect.poll(async () => (await mlflow('runs/get', { run_id: c }, 'GET')).run.info.status, { timeout: 30_000 }).toBe('KILLED');
    expectNoPageErrors(page);
  });
});
