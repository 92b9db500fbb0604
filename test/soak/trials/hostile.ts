import { PROTOCOL_HEADER, PROTOCOL_VERSION } from '../../../shared/sync.ts';
import type { HangarServer } from '../../browser/server.ts';
import type { Failure } from './checks.ts';
import type { Rng } from './rng.ts';

const DAY = 86_400_000;
const clock = (ms: number, counter = 0, node = 'hostile') => `${String(ms).padStart(15, '0')}-${String(counter).padStart(6, '0')}-${node}`;

/**
 * A hostile client: pushes straight over HTTP, with far-future clocks on real entities and
 * garbage around them. The server must answer each push without a 5xx; what it must not do
 * (store or adopt a far-future clock, wedge the namespace) the trial's final checks see.
 */
export async function hostilePush(server: HangarServer, token: string, ns: string, rng: Rng): Promise<{ sent: number; failures: Failure[] }> {
  const failures: Failure[] = [];
  const listed = await server.api(`/namespaces/${ns}/models`);
  const models = listed.ok ? ((await listed.json()) as { items: { id: string }[] }).items : [];
  const target = models.length ? rng.pick(models).id : crypto.randomUUID();
  const far = rng.pick([clock(999_999_999_999_999, 999_999, 'x'), clock(Date.now() + DAY), clock(Date.now() + 365 * DAY)]);
  const bodies: unknown[] = [
    // Far-future clocks on real writes: each must be rejected (clock-skew), the rest applied.
    {
      mutations: [
        { name: 'model.update', args: { id: target, fields: { description: 'far-future' } }, hlc: far },
        { name: 'metadata.set', args: { parentId: target, key: 'k1', value: 'far-future' }, hlc: far },
        { name: 'model.update', args: { id: target, fields: { owner: 'hostile-near' } }, hlc: clock(Date.now() + 60_000) },
      ],
    },
    // A counter past its format, unknown names, args of the wrong shape.
    { mutations: [{ name: 'model.update', args: { id: target, fields: { task: 'x' } }, hlc: '999999999999999-9999999-x' }] },
    { mutations: [{ name: 'model.explode', args: {}, hlc: clock(Date.now()) }] },
    { mutations: [{ name: 'metrics.log', args: { parentId: target, points: 'many' }, hlc: clock(Date.now()) }] },
    { mutations: [{ name: 'metadata.set', args: { parentId: target, key: '', value: { a: [] } }, hlc: clock(Date.now()) }] },
    { mutations: [{ name: 'version.create', args: { id: 'nope', modelId: target }, hlc: clock(Date.now()) }] },
    { mutations: [{ name: 'alias.set', args: { modelId: target, alias: 'v1', versionId: crypto.randomUUID(), expectedVersionId: null }, hlc: clock(Date.now()) }] },
    { mutations: [{ name: 'metadata.delete', args: { parentId: target, key: 'k1' }, hlc: far }] },
  ];
  let sent = 0;
  let seq = 0;
  const clientId = crypto.randomUUID();
  const send = async (body: string, contentType = 'application/json') => {
    sent++;
    const res = await server.api(`/namespaces/${ns}/sync/push`, { method: 'POST', token, body, headers: { 'content-type': contentType, [PROTOCOL_HEADER]: String(PROTOCOL_VERSION) } });
    const text = await res.text();
    if (res.status >= 500) failures.push({ class: 'server-error', detail: `hostile push answered ${res.status}: ${body.slice(0, 160)} → ${text.slice(0, 160)}` });
  };
  for (const b of bodies) {
    const m = (b as { mutations: Record<string, unknown>[] }).mutations.map((x) => ({ seq: ++seq, ...x }));
    await send(JSON.stringify({ clientId, afterSeq: seq - m.length, mutations: m }));
  }
  const garbage = ['{', 'null', '[]', '{"clientId":1}', JSON.stringify({ clientId, afterSeq: -1, mutations: [] }), JSON.stringify({ clientId, afterSeq: 0, mutations: [{ seq: 2 ** 60, name: 'model.delete', args: { id: target }, hlc: far }] }), '\u0000'.repeat(64)];
  for (const g of garbage) await send(g, rng.pick(['application/json', 'text/plain']));
  return { sent, failures };
}
