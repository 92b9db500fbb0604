import { describe, expect, it } from 'vitest';
import { BACKOFF_MAX_MS } from './backoff.ts';
import { LiveSockets, reconnectDelay } from './live.ts';

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
});
