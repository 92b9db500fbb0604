// The production D1 limits wrapper itself (./d1-limits.ts): it counts and refuses what
// production D1 refuses, so a test that breaches a limit cannot pass.
import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { LIMITS } from '../../shared/limits.ts';
import { call } from './api.ts';
import { limitedD1, takeBreaches, type D1Usage } from './d1-limits.ts';

describe('the production D1 limits wrapper', () => {
  it('counts every query of an invocation, each statement of a batch included', async () => {
    const usage: D1Usage = { queries: 0 };
    const db = limitedD1(env.DB, usage);
    await db.prepare('SELECT 1').first();
    await db.prepare('SELECT 1').all();
    await db.batch([db.prepare('SELECT 1'), db.prepare('SELECT ?').bind(2), db.prepare('SELECT 3')]);
    expect(usage.queries).toBe(5);
    // And a request's count comes back with its reply.
    expect((await call('GET', '/namespaces')).queries).toBeGreaterThan(0);
  });

  it('refuses, and records, every kind of breach', async () => {
    const usage: D1Usage = { queries: 0 };
    const db = limitedD1(env.DB, usage);
    const params = Array.from({ length: LIMITS.d1BoundParameters + 1 }, (_, i) => i);
    expect(() => db.prepare(`SELECT ${params.map(() => '?').join(', ')}`).bind(...params)).toThrow(/bound parameters/);
    expect(() => db.prepare(`SELECT '${'x'.repeat(LIMITS.d1StatementBytes)}'`)).toThrow(/statement of/);
    expect(() => db.prepare('SELECT ?').bind('x'.repeat(LIMITS.d1ValueBytes + 1))).toThrow(/bound value/);
    usage.queries = LIMITS.d1QueriesPerInvocation - 1;
    await db.prepare('SELECT 1').first();
    await expect(db.batch([db.prepare('SELECT 1'), db.prepare('SELECT 2')])).rejects.toThrow(/queries in one invocation/);
    // Recorded even when the caller swallowed the error: setup.ts fails the test with these.
    const breaches = takeBreaches();
    expect(breaches).toHaveLength(4);
    expect(breaches.every((b) => b.startsWith('production D1 limit breached'))).toBe(true);
  });
});
