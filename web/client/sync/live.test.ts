import { afterEach, describe, expect, it, vi } from 'vitest';
import { LIMITS } from '../../../shared/limits.ts';
import { BACKOFF_MAX_MS } from './backoff.ts';
import { LiveSockets, readPoke, reconnectDelay } from './live.ts';

describe('live socket reconnects', () => {
  it('waits between half and all of a doubling delay, capped at a minute', () => {
    expect([1, 2, 3, 4].map((n) => reconnectDelay(n, () => 1))).toEqual([1000, 2000, 4000, 8000]);
    expect([1, 2, 3, 4].map((n) => reconnectDelay(n, () => 0))).toEqual([500, 1000, 2000, 4000]);
    expect(reconnectDelay(30, () => 1)).toBe(BACKOFF_MAX_MS);
    expect(reconnectDelay(30, () => 0)).toBe(BACKOFF_MAX_MS / 2);
  });

  it('is not used with a token that cannot travel as a subprotocol, or without WebSocket', () => {
    const hooks = { poke() {}, opened() {}, down() {} };
    expect(new LiveSockets({ url: 'http://h', token: 'hgr_abc-DEF_1' }, ['team'], hooks, class {} as unknown as typeof WebSocket).usable).toBe(true);
    expect(new LiveSockets({ url: 'http://h', token: 'has space' }, ['team'], hooks, class {} as unknown as typeof WebSocket).usable).toBe(false);
    expect(new LiveSockets({ url: 'http://h', token: 'hgr_abc' }, ['team'], hooks, null).usable).toBe(false);
  });

  afterEach(() => {
    vi.unstubAllGlobals();
    vi.useRealTimers();
  });

  it('does not dial while the browser is offline, and dials when it is back online', () => {
    vi.useFakeTimers();
    const dialed: string[] = [];
    const Socket = class {
      constructor(url: string) {
        dialed.push(url);
      }
      addEventListener() {}
      close() {}
    } as unknown as typeof WebSocket;
    const navigator = { onLine: false };
    vi.stubGlobal('navigator', navigator);
    const live = new LiveSockets({ url: 'http://h', token: 'hgr_abc' }, ['team'], { poke() {}, opened() {}, down() {} }, Socket);
    live.start();
    vi.advanceTimersByTime(10 * BACKOFF_MAX_MS);
    expect(dialed).toEqual([]);
    navigator.onLine = true;
    live.reconnectNow();
    expect(dialed).toEqual(['ws://h/api/v1/namespaces/team/sync/live']);
    live.stop();
  });
});

describe('reading a poke', () => {
  const row = (seq: number, extra: Record<string, unknown> = {}) => ({ seq, entity: 'model', entityId: `m${seq}`, op: 'create', data: { name: `m${seq}` }, hlc: 'h', ...extra });
  const text = (poke: unknown) => JSON.stringify(poke);

  it('keeps the rows of a well-formed poke, and reads a plain one as before', () => {
    const changes = [row(5), row(9)];
    expect(readPoke(text({ type: 'poke', cursor: 9, from: 3, changes }))).toEqual({ cursor: 9, carried: { from: 3, changes } });
    expect(readPoke(text({ type: 'poke', cursor: 9 }))).toEqual({ cursor: 9 });
    expect(readPoke('pong')).toBeUndefined();
    expect(readPoke(text({ type: 'other', cursor: 9 }))).toBeUndefined();
    expect(readPoke(text({ type: 'poke', cursor: -1 }))).toBeUndefined();
  });

  it('sets aside rows out of order, outside (from, cursor], not ending at the cursor, malformed, or in a message over the limit', () => {
    const plain = { cursor: 9 };
    expect(readPoke(text({ type: 'poke', cursor: 9, from: 3, changes: [row(9), row(5)] }))).toEqual(plain);
    expect(readPoke(text({ type: 'poke', cursor: 9, from: 5, changes: [row(5), row(9)] }))).toEqual(plain);
    expect(readPoke(text({ type: 'poke', cursor: 9, from: 3, changes: [row(5)] }))).toEqual(plain);
    expect(readPoke(text({ type: 'poke', cursor: 9, from: 3, changes: [row(5), row(10)] }))).toEqual(plain);
    expect(readPoke(text({ type: 'poke', cursor: 9, from: 3, changes: [row(9, { data: null })] }))).toEqual(plain);
    expect(readPoke(text({ type: 'poke', cursor: 9, from: 3, changes: [row(9, { entityId: 7 })] }))).toEqual(plain);
    expect(readPoke(text({ type: 'poke', cursor: 9, from: 9, changes: [] }))).toEqual(plain);
    expect(readPoke(text({ type: 'poke', cursor: 9, from: 3, changes: 'x' }))).toEqual(plain);
    // Fits in characters but not in UTF-8 bytes: still over the limit.
    const big = row(9, { data: { note: 'é'.repeat(LIMITS.livePokeBytes / 2) } });
    expect(text({ type: 'poke', cursor: 9, from: 3, changes: [big] }).length).toBeLessThan(LIMITS.livePokeBytes);
    expect(readPoke(text({ type: 'poke', cursor: 9, from: 3, changes: [big] }))).toEqual(plain);
  });
});
