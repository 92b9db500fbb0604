import { describe, expect, it } from 'vitest';
import { PULL_CLIENT_HEADER, PULL_CURSOR_HEADER } from '../../../shared/sync.ts';
import { SyncHttp } from './http.ts';

const CLIENT = '01a00000-0000-7000-8000-000000000000';
const page = (cursor: number) => ({ changes: [], cursor, more: false, lastMutationSeq: 0, serverTime: Date.now() });
const json = (body: unknown, status = 200) => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

/** A server that reads a pull's clientId and cursor from the query only (as before the headers), or from either. */
function server(readsHeaders: boolean) {
  const seen: string[] = [];
  const fetcher: typeof fetch = async (input, init) => {
    const url = new URL(String(input));
    const headers = new Headers(init?.headers);
    seen.push(`${url.pathname}${url.search}`);
    const clientId = url.searchParams.get('clientId') ?? (readsHeaders ? headers.get(PULL_CLIENT_HEADER) : null);
    const cursor = url.searchParams.get('clientId') ? url.searchParams.get('cursor') : readsHeaders ? headers.get(PULL_CURSOR_HEADER) : null;
    if (clientId !== CLIENT) return json({ error: { code: 'invalid-argument', message: 'Invalid query: clientId is required.' } }, 400);
    return json(page(Number(cursor ?? 0)));
  };
  return { fetcher, seen };
}

describe('pull requests', () => {
  it('send clientId and cursor as headers, on one URL', async () => {
    const s = server(true);
    const http = new SyncHttp({ url: 'http://hangar.test', token: 't' }, s.fetcher);
    expect((await http.pull('team', { clientId: CLIENT, cursor: 0 })).cursor).toBe(0);
    expect((await http.pull('team', { clientId: CLIENT, cursor: 7 })).cursor).toBe(7);
    expect(s.seen).toEqual(['/api/v1/namespaces/team/sync/pull', '/api/v1/namespaces/team/sync/pull']);
  });

  it('fall back to the query for good when a server does not read the headers', async () => {
    const s = server(false);
    const http = new SyncHttp({ url: 'http://hangar.test', token: 't' }, s.fetcher);
    expect((await http.pull('team', { clientId: CLIENT, cursor: 3 })).cursor).toBe(3);
    expect((await http.pull('team', { clientId: CLIENT, cursor: 5 })).cursor).toBe(5);
    expect(s.seen).toEqual([
      '/api/v1/namespaces/team/sync/pull',
      `/api/v1/namespaces/team/sync/pull?clientId=${CLIENT}&cursor=3`,
      `/api/v1/namespaces/team/sync/pull?clientId=${CLIENT}&cursor=5`,
    ]);
  });
});
