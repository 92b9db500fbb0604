import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type HangarServer } from '../browser/server.ts';
import { syncedRegistry } from './clients.ts';

// Experiments, runs and params (DESIGN §1) between the client library and the real Worker:
// params travel both ways (a device's logParams, an MLflow client's log-batch), kinds and
// lineage come with them, and a param set to another value is refused visibly.

let server: HangarServer;
let token: string;
const ns = 'exps';

beforeAll(async () => {
  server = await startServer();
  token = await server.token(ns, 'write');
});
afterAll(() => server?.close());

/** MLflow's REST API as its client calls it: POST with a JSON body, Bearer token. */
async function mlflow(path: string, body: Record<string, unknown>): Promise<any> {
  const res = await fetch(`${server.url}/mlflow/${ns}/api/2.0/mlflow/${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const json = await res.json();
  return { status: res.status, body: json };
}

describe('params, kinds and lineage over sync', () => {
  it('travel both ways, and a changed param is a rejected conflict with the server value shown', async () => {
    const { hangar: a, net } = await syncedRegistry(server, token, [ns]);
    const { hangar: b } = await syncedRegistry(server, token, [ns]);
    try {
      // A device logs a run with params; the server and MLflow's API see them.
      const exp = await a.newExperiment({ namespace: ns, name: 'churn-exp' });
      const run = await exp.newVersion({ status: 'pending' });
      await run.logParams({ lr: 0.01, optimizer: 'adam' });
      await a.syncNow();
      const viaGet = await fetch(`${server.url}/mlflow/${ns}/api/2.0/mlflow/runs/get?run_id=${run.id}`, { headers: { authorization: `Bearer ${token}` } });
      const params = (await viaGet.json()).run.data.params;
      expect(params).toEqual([
        { key: 'lr', value: '0.01' },
        { key: 'optimizer', value: 'adam' },
      ]);

      // An MLflow client (CI) adds params and registers the run's model; the other device pulls all of it.
      expect((await mlflow('runs/log-batch', { run_id: run.id, params: [{ key: 'epochs', value: '20' }], metrics: [{ key: 'loss', value: 0.3, timestamp: 1, step: 1 }] })).status).toBe(200);
      const put = await fetch(`${server.url}/mlflow/${ns}/api/2.0/mlflow-artifacts/artifacts/${exp.id}/${run.id}/artifacts/model/model.bin`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${token}` },
        body: new Uint8Array([1, 2, 3, 4]),
      });
      expect(put.status).toBe(200);
      expect((await mlflow('registered-models/create', { name: 'churn' })).status).toBe(200);
      const mv = await mlflow('model-versions/create', { name: 'churn', source: `runs:/${run.id}/model`, run_id: run.id });
      expect(mv.status, JSON.stringify(mv.body)).toBe(200);
      await b.syncNow();
      expect((await b.experiments()).map((m) => [m.name, m.kind])).toEqual([['churn-exp', 'experiment']]);
      expect((await b.models()).map((m) => [m.name, m.kind])).toEqual([['churn', 'model']]);
      const runOnB = await (await b.model(ns, 'churn-exp')).version(1);
      expect(await runOnB.params()).toEqual({ epochs: '20', lr: '0.01', optimizer: 'adam' });
      const registered = await b.find(`${ns}/churn/1`);
      expect(registered.sourceVersionId).toBe(run.id);
      expect((await runOnB.registered()).map((v) => v.model)).toEqual(['churn']);
      // The filter reads pulled params too.
      expect((await (await b.model(ns, 'churn-exp')).versions({ filter: 'params.epochs >= 20' })).map((v) => v.id)).toEqual([run.id]);

      // Device B has pulled `epochs`: another value is refused here, before any push.
      expect((await b.model(ns, 'churn-exp').then((m) => m.version(1)).then((v) => v.logParam('epochs', '30')).catch((e) => e.code))).toBe('param-changed');

      // Device A has not pulled `epochs` yet: it sets it to another value, and the server refuses it.
      net.offline = true;
      await run.logParam('epochs', '30');
      expect(await run.params()).toEqual({ epochs: '30', lr: '0.01', optimizer: 'adam' });
      net.offline = false;
      await a.syncNow();
      const conflicts = await a.conflicts();
      expect(conflicts.map((c) => [c.kind, c.mine.name, (c.theirs as { code: string }).code])).toEqual([['rejected', 'param.set', 'param-changed']]);
      expect(await run.params()).toEqual({ epochs: '20', lr: '0.01', optimizer: 'adam' });
      // The server kept its value.
      const after = await fetch(`${server.url}/mlflow/${ns}/api/2.0/mlflow/runs/get?run_id=${run.id}`, { headers: { authorization: `Bearer ${token}` } });
      expect((await after.json()).run.data.params).toContainEqual({ key: 'epochs', value: '20' });
    } finally {
      await a.close();
      await b.close();
    }
  });
});
