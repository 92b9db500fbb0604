import { env, runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { utf8Length } from '../../shared/encoding.ts';
import { modelId } from '../../shared/ids.ts';
import { LIMITS } from '../../shared/limits.ts';
import { LIVE_CLOSE, LIVE_SUBPROTOCOL, LIVE_TOKEN_PREFIX, type Poke } from '../../shared/live.ts';
import type { PullResponse } from '../../shared/sync.ts';
import { call, expectError, freshModel, tokenFor, type Reply } from './api.ts';
import { fetchLimited } from './d1-limits.ts';
import { H, syncClient } from './sync-client.ts';

/** Opens a live socket as a browser would: the token as a subprotocol, an Origin if given. */
async function connect(ns: string, token: string | null, opts: { origin?: string; bearerHeader?: boolean } = {}) {
  const headers: Record<string, string> = { upgrade: 'websocket' };
  const protocols = [LIVE_SUBPROTOCOL];
  if (token && opts.bearerHeader) headers.authorization = `Bearer ${token}`;
  else if (token) protocols.push(`${LIVE_TOKEN_PREFIX}${token}`);
  headers['sec-websocket-protocol'] = protocols.join(', ');
  if (opts.origin) headers.origin = opts.origin;
  const { res } = await fetchLimited(new Request(`https://hangar.test/api/v1/namespaces/${ns}/sync/live`, { headers }));
  return res;
}

/** An accepted socket and the messages and close it has received. */
async function open(ns: string, token: string, opts: { origin?: string } = {}) {
  const res = await connect(ns, token, opts);
  expect(res.status).toBe(101);
  expect(res.headers.get('sec-websocket-protocol')).toBe(LIVE_SUBPROTOCOL);
  const ws = res.webSocket!;
  ws.accept();
  const messages: unknown[] = [];
  /** Each message as it came over the socket. */
  const raw: string[] = [];
  const waiters: (() => void)[] = [];
  let closed: { code: number; reason: string } | undefined;
  const wake = () => waiters.splice(0).forEach((w) => w());
  ws.addEventListener('message', (e) => {
    raw.push(e.data as string);
    messages.push(JSON.parse(e.data as string));
    wake();
  });
  ws.addEventListener('close', (e) => {
    closed = { code: e.code, reason: e.reason };
    wake();
  });
  const until = async <T,>(get: () => T | undefined): Promise<T> => {
    for (;;) {
      const v = get();
      if (v !== undefined) return v;
      await new Promise<void>((resolve) => waiters.push(resolve));
    }
  };
  return {
    ws,
    messages,
    raw,
    /** The next poke whose cursor is at least `cursor`. */
    poke: (cursor: number) => until(() => messages.find((m: any) => m.type === 'poke' && m.cursor >= cursor) as Poke | undefined),
    closed: () => until(() => closed),
  };
}

/** The change log's last cursor for `ns`, as a pull reports it. */
async function lastCursor(ns: string): Promise<number> {
  const r = await call('GET', `/namespaces/${ns}/sync/pull?clientId=00000000-0000-7000-8000-000000000000&cursor=0&limit=1000`, {
    headers: H,
  });
  expect(r.status).toBe(200);
  return r.body.cursor;
}

const socketsOf = (ns: string) => env.LIVE.get(env.LIVE.idFromName(ns)).sockets();

describe('live sockets: auth on the upgrade', () => {
  it('refuses an upgrade without a token, with another namespace’s token, or from an origin the token does not allow, holding nothing open', async () => {
    const ns = 'live-auth';
    const other = await tokenFor('live-other', 'read');
    const pinned = await tokenFor(ns, 'read', { origins: ['https://app.example'] });
    const read = await tokenFor(ns, 'read');

    const none = await connect(ns, null);
    expect({ status: none.status, code: none.headers.get('x-hangar-error'), ws: none.webSocket }).toEqual({ status: 401, code: 'unauthenticated', ws: null });
    const foreign = await connect(ns, other);
    expect({ status: foreign.status, code: foreign.headers.get('x-hangar-error'), ws: foreign.webSocket }).toEqual({ status: 404, code: 'namespace-not-found', ws: null });
    const elsewhere = await connect(ns, pinned, { origin: 'https://evil.example' });
    expect({ status: elsewhere.status, code: elsewhere.headers.get('x-hangar-error'), ws: elsewhere.webSocket }).toEqual({ status: 403, code: 'origin-not-allowed', ws: null });
    const forged = await connect(ns, 'hgr_not_a_token');
    expect(forged.status).toBe(401);
    expect(await socketsOf(ns)).toBe(0);

    // The same tokens where they are allowed: accepted, and the token never echoed back.
    const fine = await open(ns, pinned, { origin: 'https://app.example' });
    const plain = await open(ns, read);
    expect(await socketsOf(ns)).toBe(2);
    fine.ws.close(1000, 'done');
    plain.ws.close(1000, 'done');
  });

  it('answers a plain GET of the live route with a clear error, not a 500', async () => {
    const token = await tokenFor('live-get', 'read');
    expectError(await call('GET', '/namespaces/live-get/sync/live', { token }), 400, 'invalid-argument');
  });

  it('accepts the Authorization header from a client that can set it', async () => {
    const token = await tokenFor('live-header', 'read');
    const res = await connect('live-header', token, { bearerHeader: true });
    expect(res.status).toBe(101);
    res.webSocket!.accept();
    res.webSocket!.close(1000, 'done');
  });
});

describe('live sockets: pokes', () => {
  it('pokes every socket with the new cursor after a REST write', async () => {
    const ns = 'live-rest';
    const read = await tokenFor(ns, 'read');
    const a = await open(ns, read);
    const b = await open(ns, read);
    const r: Reply = await call('POST', `/namespaces/${ns}/models`, { body: { name: 'resnet' } });
    expect(r.status).toBe(201);
    const cursor = await lastCursor(ns);
    expect(cursor).toBeGreaterThan(0);
    expect(await a.poke(cursor)).toMatchObject({ type: 'poke', cursor });
    expect(await b.poke(cursor)).toMatchObject({ type: 'poke', cursor });

    // A refused write changes nothing and pokes nobody; the next real write pokes again.
    expectError(await call('POST', `/namespaces/${ns}/models`, { body: { name: 'resnet' } }), 409, 'model-exists');
    expect((await call('PUT', `/namespaces/${ns}/models/resnet/metadata/lr`, { body: 0.1 })).status).toBeLessThan(300);
    const next = await lastCursor(ns);
    expect(next).toBeGreaterThan(cursor);
    await a.poke(next);
    expect(a.messages.map((m: any) => [m.type, m.cursor])).toEqual([
      ['poke', cursor],
      ['poke', next],
    ]);
    a.ws.close(1000, 'done');
    b.ws.close(1000, 'done');
  });

  it('pokes after a sync push, and not the sockets of another namespace', async () => {
    const ns = 'live-push';
    const mine = await open(ns, await tokenFor(ns, 'read'));
    const theirs = await open('live-push-other', await tokenFor('live-push-other', 'read'));
    const client = syncClient(ns, await tokenFor(ns, 'write'));
    const r = await client.push([{ name: 'model.create', args: { id: await modelId(ns, 'bert'), name: 'bert', owner: null, task: 'tabular', description: null } }]);
    expect(r.status).toBe(200);
    expect(r.body.results[0]?.status).toBe('applied');
    const cursor = await lastCursor(ns);
    expect(await mine.poke(cursor)).toMatchObject({ type: 'poke', cursor });
    // The other namespace's hub was never told: its socket saw nothing (its own write pokes it only).
    expect((await call('POST', '/namespaces/live-push-other/models', { body: { name: 'x' } })).status).toBe(201);
    const theirCursor = await lastCursor('live-push-other');
    await theirs.poke(theirCursor);
    expect(theirs.messages.map((m: any) => [m.type, m.cursor])).toEqual([['poke', theirCursor]]);
    expect(theirs.raw.join('\n')).not.toContain('bert');
    mine.ws.close(1000, 'done');
    theirs.ws.close(1000, 'done');
  });

  it('closes an unexpected message’s socket', async () => {
    const s = await open('live-msg', await tokenFor('live-msg', 'read'));
    s.ws.send('hello');
    expect((await s.closed()).code).toBe(LIVE_CLOSE.unexpectedMessage);
  });
});

/** A pull page of `ns` after `cursor`, as a device asks for it. */
async function pullAfter(ns: string, cursor: number): Promise<PullResponse> {
  const r = await call<PullResponse>('GET', `/namespaces/${ns}/sync/pull?clientId=00000000-0000-7000-8000-000000000001&cursor=${cursor}&limit=1000`, { headers: H });
  expect(r.status).toBe(200);
  return r.body;
}

describe('live sockets: a poke carries the rows it announces', () => {
  it('carries every row after the last poke, exactly as a pull from there gives them', async () => {
    const ns = 'live-rows';
    const s = await open(ns, await tokenFor(ns, 'read'));
    const model = await freshModel(ns);
    let before = await lastCursor(ns);
    await s.poke(before);
    const writes: [string, string, unknown][] = [
      ['PUT', `${model}/metadata/lr`, 0.1],
      ['POST', `${model}/versions`, { description: 'first', metadata: { epochs: 3 } }],
      ['POST', `${model}/metrics`, { metrics: [{ key: 'loss', value: 0.5, step: 1 }, { key: 'loss', value: 0.25, step: 2 }, { key: 'acc', value: 0.9, step: 2 }] }],
      ['PUT', `${model}/aliases/production`, { version: 1 }],
      ['DELETE', `${model}/metadata/lr`, undefined],
    ];
    for (const [method, path, body] of writes) {
      const r = await call(method, path, body === undefined ? {} : { body });
      expect(r.status, `${method} ${path}`).toBeLessThan(300);
      const cursor = await lastCursor(ns);
      const poke = await s.poke(cursor);
      expect(poke.cursor).toBe(cursor);
      // From the cursor last poked, every row up to the new one: what a device at `before` would pull.
      expect(poke.from).toBe(before);
      const page = await pullAfter(ns, before);
      expect(page.more).toBe(false);
      expect(poke.changes).toEqual(page.changes);
      expect(page.cursor).toBe(cursor);
      before = cursor;
    }
    // The metrics log came with its points, as a pull materialises them.
    const logged = s.messages.flatMap((m: any) => m.changes ?? []).find((c: any) => c.entity === 'metrics');
    expect(logged.data.points.map((p: any) => [p.key, p.value, p.step]).sort()).toEqual([['acc', 0.9, 2], ['loss', 0.25, 2], ['loss', 0.5, 1]]);
    for (const text of s.raw) expect(utf8Length(text)).toBeLessThanOrEqual(LIMITS.livePokeBytes);
    s.ws.close(1000, 'done');
  });

  it('carries no rows when they would take the poke past LIMITS.livePokeBytes, and carries again after', async () => {
    const ns = 'live-big';
    const s = await open(ns, await tokenFor(ns, 'read'));
    const model = await freshModel(ns);
    let before = await lastCursor(ns);
    await s.poke(before);
    // One row larger than a poke may be; then one that fits alone but not with the poke around it.
    for (const size of [LIMITS.livePokeBytes + 10, LIMITS.livePokeBytes - 60]) {
      expect((await call('PUT', `${model}/metadata/notes`, { body: { text: 'x'.repeat(size) } })).status).toBeLessThan(300);
      const cursor = await lastCursor(ns);
      expect(await s.poke(cursor)).toEqual({ type: 'poke', cursor });
      before = cursor;
    }
    // A small write after: its poke carries its rows, from the cursor poked last.
    expect((await call('PUT', `${model}/metadata/lr`, { body: 0.01 })).status).toBeLessThan(300);
    const cursor = await lastCursor(ns);
    const poke = await s.poke(cursor);
    expect(poke.from).toBe(before);
    expect(poke.changes).toEqual((await pullAfter(ns, before)).changes);
    for (const text of s.raw) expect(utf8Length(text)).toBeLessThanOrEqual(LIMITS.livePokeBytes);
    s.ws.close(1000, 'done');
  });

  it('carries no rows when one write appends more rows than a poke holds', async () => {
    const ns = 'live-many';
    const s = await open(ns, await tokenFor(ns, 'read'));
    const model = await freshModel(ns);
    await s.poke(await lastCursor(ns));
    const client = syncClient(ns, await tokenFor(ns, 'write'));
    const id = await modelId(ns, model.split('/').at(-1)!);
    const r = await client.push(Array.from({ length: 40 }, (_, i) => ({ name: 'metadata.set', args: { parentId: id, key: `k${i}`, value: i } })));
    expect(r.body.results.every((x) => x.status === 'applied')).toBe(true);
    const cursor = await lastCursor(ns);
    expect(await s.poke(cursor)).toEqual({ type: 'poke', cursor });
    s.ws.close(1000, 'done');
  });

  it('sends a namespace’s rows only to sockets whose token may read it now', async () => {
    const ns = 'live-scope';
    const mine = await open(ns, await tokenFor(ns, 'read'));
    const theirs = await open('live-scope-other', await tokenFor('live-scope-other', 'read'));
    const star = await call('POST', '/tokens', { body: { namespace: '*', role: 'read', name: 'everywhere' } });
    const everywhere = await open(ns, star.body.token);
    // Another namespace's token cannot even hold a socket here.
    expect((await connect(ns, await tokenFor('live-scope-other', 'read'))).status).toBe(404);
    const model = await freshModel(ns);
    let cursor = await lastCursor(ns);
    await Promise.all([mine.poke(cursor), everywhere.poke(cursor)]);
    // Revoked: its socket closes at the next poke without receiving that poke's rows.
    expect((await call('DELETE', `/tokens/${star.body.id}`)).status).toBe(204);
    expect((await call('PUT', `${model}/metadata/secret`, { body: { text: 'only-for-readers' } })).status).toBeLessThan(300);
    cursor = await lastCursor(ns);
    const poke = await mine.poke(cursor);
    expect(JSON.stringify(poke.changes)).toContain('only-for-readers');
    expect(await everywhere.closed()).toEqual({ code: LIVE_CLOSE.tokenInvalid, reason: 'unauthenticated' });
    expect(everywhere.raw.join('\n')).not.toContain('only-for-readers');
    expect(theirs.raw).toEqual([]);
    mine.ws.close(1000, 'done');
    theirs.ws.close(1000, 'done');
  });
});

describe('live sockets: a token that stops being valid loses its socket', () => {
  it('closes a revoked token’s socket when it is revoked, and keeps the others', async () => {
    const ns = 'live-revoke';
    const created = await call('POST', '/tokens', { body: { namespace: ns, role: 'read', name: 'laptop' } });
    const doomed = await open(ns, created.body.token);
    const kept = await open(ns, await tokenFor(ns, 'read'));
    expect((await call('DELETE', `/tokens/${created.body.id}`)).status).toBe(204);
    expect(await doomed.closed()).toEqual({ code: LIVE_CLOSE.tokenInvalid, reason: 'unauthenticated' });
    expect((await call('POST', `/namespaces/${ns}/models`, { body: { name: 'after' } })).status).toBe(201);
    const cursor = await lastCursor(ns);
    await kept.poke(cursor);
    expect(doomed.messages).toEqual([]);
    expect(await socketsOf(ns)).toBe(1);
    kept.ws.close(1000, 'done');
  });

  it('closes a revoked all-namespaces token’s socket at the next poke', async () => {
    const ns = 'live-revoke-star';
    const created = await call('POST', '/tokens', { body: { namespace: '*', role: 'read', name: 'ci' } });
    const doomed = await open(ns, created.body.token);
    expect((await call('DELETE', `/tokens/${created.body.id}`)).status).toBe(204);
    expect((await call('POST', `/namespaces/${ns}/models`, { body: { name: 'm' } })).status).toBe(201);
    expect(await doomed.closed()).toEqual({ code: LIVE_CLOSE.tokenInvalid, reason: 'unauthenticated' });
    expect(doomed.messages).toEqual([]);
  });

  it('closes an expired token’s socket at its expiry', async () => {
    const ns = 'live-expire';
    const created = await call('POST', '/tokens', { body: { namespace: ns, role: 'read', name: 'brief', expiresAt: Date.now() + 1500 } });
    const s = await open(ns, created.body.token);
    expect(await s.closed()).toEqual({ code: LIVE_CLOSE.tokenInvalid, reason: 'token-expired' });
    await runInDurableObject(env.LIVE.get(env.LIVE.idFromName(ns)), async (_hub, state) => {
      expect(state.getWebSockets().length).toBe(0);
    });
  });
});
