import { createServer, type Server } from 'node:http';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startServer, type HangarServer } from '../../test/browser/server.ts';
import { median, report } from '../figure.ts';

// An alias move until a local receiver holds the signed delivery, through the Worker and its
// local Queue under wrangler dev (what `npm start` runs).
const MOVES = Number(process.env['BENCH_WEBHOOK_MOVES'] ?? 100);
let server: HangarServer;
let receiver: Server;
let url: string;
/** Resolves the wait for the delivery that names this version number. */
const waiting = new Map<number, (at: number) => void>();
let secret = '';
let verified = 0;

beforeAll(async () => {
  server = await startServer();
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      const at = performance.now();
      res.writeHead(200).end();
      const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)]));
      const event = new Webhook(secret).verify(body, headers) as { type: string; data: { version: { number: number } } };
      verified++;
      if (event.type === 'alias.moved') waiting.get(event.data.version.number)?.(at);
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(receiver.address() as { port: number }).port}/hook`;
}, 180_000);

afterAll(async () => {
  await new Promise((r) => receiver?.close(r));
  await server?.close();
});

const api = async (path: string, init: RequestInit & { json?: unknown } = {}) => {
  const res = await server.api(path, init);
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  return res.status === 204 ? null : res.json();
};

const percentile = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil((p / 100) * xs.length) - 1)]!;

it('alias move → signed delivery received', async () => {
  await api('/namespaces/bench/models', { json: { name: 'churn' } });
  for (let i = 0; i < MOVES + 1; i++) await api('/namespaces/bench/models/churn/versions', { json: {} });
  secret = ((await api('/namespaces/bench/webhooks', { json: { url, events: ['alias.moved'] } })) as { secret: string }).secret;

  const latencies: number[] = [];
  // One warm-up move, then one move per version, each waited for before the next.
  for (let n = 1; n <= MOVES + 1; n++) {
    const got = new Promise<number>((resolve) => waiting.set(n, resolve));
    const start = performance.now();
    await api('/namespaces/bench/models/churn/aliases/production', { method: 'PUT', json: { version: n } });
    const at = await got;
    if (n > 1) latencies.push(at - start);
  }
  expect(verified).toBe(MOVES + 1);
  const p95 = Math.round(percentile(latencies, 95));
  report({
    name: 'Webhook: alias move → signed delivery received, p95',
    value: p95,
    unit: 'ms',
    baseline: 2000,
    goal: '≤ 1',
    note:
      `From sending \`PUT …/aliases/production\` to a receiver on loopback holding the \`alias.moved\` delivery (verified with the standardwebhooks package), ` +
      `through the Worker and its local Queue under wrangler dev (consumer batches wait up to max_batch_timeout = 1 s); ${MOVES} moves one after another after a warm-up; ` +
      `baseline: the 2 s budget. Median ${Math.round(median(latencies))} ms, p50 ${Math.round(percentile(latencies, 50))} ms, max ${Math.round(Math.max(...latencies))} ms.`,
    samples: latencies.map((x) => Math.round(x)),
  });
}, 600_000);
