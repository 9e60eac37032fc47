// The metrics section of tierfs.yaml: the listener's address (or off), the token, the
// history's retention, each refused with a message that says what was expected.
import { describe, expect, it } from 'vitest';
import { configSchema } from '../../src/config/schema.js';
import { isLoopback, parseListen } from '../../src/config/metrics.js';

const base = { dataDir: '/d', tiers: [{ name: 'hot', kind: 'local', volumes: ['/v'] }] };
const parse = (metrics: unknown) => configSchema.safeParse({ ...base, metrics });

describe('metrics configuration', () => {
  it('defaults to a loopback listener on 9750 with history kept 2 days / 90 days / 2 years', () => {
    const cfg = configSchema.parse(base);
    expect(cfg.metrics.listen).toEqual({ host: '127.0.0.1', port: 9750 });
    expect(cfg.metrics.token).toBeUndefined();
    expect(cfg.metrics.history).toEqual({ enabled: true, minutes: 2 * 86_400_000, hours: 90 * 86_400_000, days: 730 * 86_400_000 });
    expect(cfg.metrics.probeInterval).toBe(30_000);
  });

  it('reads addresses and "off"', () => {
    expect(parseListen('off')).toBeNull();
    expect(parseListen('0.0.0.0:9100')).toEqual({ host: '0.0.0.0', port: 9100 });
    expect(parseListen('[::1]:9750')).toEqual({ host: '::1', port: 9750 });
    expect(parseListen(':9750')).toEqual({ host: '0.0.0.0', port: 9750 });
    expect(parseListen('localhost:0')).toEqual({ host: 'localhost', port: 0 });
    expect(parse({ listen: 'off' }).data?.metrics.listen).toBeNull();
  });

  it('tells loopback from the rest', () => {
    for (const h of ['127.0.0.1', '127.3.2.1', '::1', 'localhost', '::ffff:127.0.0.1']) expect(isLoopback(h)).toBe(true);
    for (const h of ['0.0.0.0', '::', '10.1.2.3', '192.168.0.9', 'nas.local']) expect(isLoopback(h)).toBe(false);
  });

  it.each([
    ['an address without a port', { listen: '127.0.0.1' }, /HOST:PORT/],
    ['a port out of range', { listen: '127.0.0.1:70000' }, /HOST:PORT/],
    ['a token too short to guess hard', { token: 'short' }, /16/],
    ['minutes kept shorter than an hour', { history: { minutes: '30m' } }, /at least 1h/],
    ['an unknown key', { port: 9750 }, /port/],
  ])('refuses %s', (_what, metrics, message) => {
    const r = parse(metrics);
    expect(r.success).toBe(false);
    expect(JSON.stringify(r.error?.issues)).toMatch(message);
  });
});
