import { SELF } from 'cloudflare:test';
import { expect, it } from 'vitest';
import { median, report, timed } from './report.ts';

const ADMIN = 'hgr_test_admin_token';
const NS = 'bench-mlflow';
const POINTS = 1000;
const ROUNDS = 7;
const KEYS = ['loss', 'accuracy', 'val/loss', 'val/accuracy', 'lr'];

const headers = { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' };
const post = (url: string, body: unknown) => SELF.fetch(`https://hangar.test${url}`, { method: 'POST', headers, body: JSON.stringify(body) });

/** 1,000 points as a training loop logs them, five keys per step, from `step0` on. */
function points(step0: number) {
  const t0 = Date.now();
  return Array.from({ length: POINTS }, (_, i) => ({ key: KEYS[i % KEYS.length]!, value: Math.random(), step: step0 + Math.floor(i / KEYS.length), t: t0 + i }));
}

async function ok(res: Response, status: number): Promise<void> {
  if (res.status !== status) throw new Error(`answered ${res.status}: ${await res.text()}`);
  await res.arrayBuffer();
}

it('logs 1,000 metric points through MLflow log-batch vs Hangar’s own metrics route, in the same run', async () => {
  const exp = await post(`/mlflow/${NS}/api/2.0/mlflow/experiments/create`, { name: 'bench' });
  const { experiment_id } = (await exp.json()) as { experiment_id: string };
  const created = await post(`/mlflow/${NS}/api/2.0/mlflow/runs/create`, { experiment_id });
  const runId = ((await created.json()) as { run: { info: { run_id: string } } }).run.info.run_id;
  const hangarUrl = `/api/v1/namespaces/${NS}/models/bench/versions/1/metrics`;

  let step = 0;
  const sides: Record<string, () => Promise<number>> = {
    mlflow: async () => {
      const body = { run_id: runId, metrics: points((step += 200)).map((p) => ({ key: p.key, value: p.value, timestamp: p.t, step: p.step })) };
      return timed(async () => ok(await post(`/mlflow/${NS}/api/2.0/mlflow/runs/log-batch`, body), 200));
    },
    hangar: async () => {
      const body = { metrics: points((step += 200)).map((p) => ({ key: p.key, value: p.value, wallclock: p.t, step: p.step })) };
      return timed(async () => ok(await post(hangarUrl, body), 201));
    },
  };
  const samples: Record<string, number[]> = { mlflow: [], hangar: [] };
  // Round 0 warms up; later rounds alternate which side goes first.
  for (let round = 0; round <= ROUNDS; round++) {
    const order = round % 2 ? ['hangar', 'mlflow'] : ['mlflow', 'hangar'];
    for (const side of order) {
      const ms = await sides[side]!();
      if (round > 0) samples[side]!.push(ms);
    }
  }
  const summary = await SELF.fetch(`https://hangar.test${hangarUrl}`, { headers });
  const counts = Object.values(((await summary.json()) as { metrics: Record<string, { count: number }> }).metrics).reduce((n, s) => n + s.count, 0);
  expect(counts).toBe(2 * (ROUNDS + 1) * POINTS);

  const round1 = (x: number) => Math.round(x * 10) / 10;
  report({
    name: 'Log 1,000 metric points through MLflow runs/log-batch',
    value: round1(median(samples.mlflow!)),
    unit: 'ms',
    baseline: round1(median(samples.hangar!)),
    goal: '≤ 1.2',
    note:
      'MLflow: POST /mlflow/{ns}/api/2.0/mlflow/runs/log-batch with 1,000 metrics; baseline: the same 1,000 points through POST /api/v1/…/versions/{n}/metrics ' +
      `into the same run, both via SELF.fetch with the admin token; median of ${ROUNDS} alternating rounds after a warm-up.`,
    samples: samples.mlflow!.map(round1),
    baselineSamples: samples.hangar!.map(round1),
  });
});
