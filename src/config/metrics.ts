// The metrics section of tierfs.yaml: the HTTP listener that serves /metrics (and the
// JSON API), its bearer token, the history kept in the catalog, and backend probes.
import { isIP } from 'node:net';
import { z } from 'zod';
import { duration } from './fields.js';

export interface ListenAddress {
  host: string;
  port: number;
}

/** "127.0.0.1:9750", "[::1]:9750", ":9750" (every interface), or "off" (null). */
export function parseListen(value: string | boolean): ListenAddress | null {
  if (value === false || value === 'off') return null;
  if (typeof value !== 'string') throw new Error('expected an address such as "127.0.0.1:9750", or "off"');
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s]*)):(\d{1,5})$/.exec(value.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new Error(`expected HOST:PORT such as "127.0.0.1:9750" or "[::1]:9750", or "off"; got "${value}"`);
  const host = m[1] ?? (m[2] || '0.0.0.0');
  if (m[1] !== undefined && isIP(host) !== 6) throw new Error(`not an IPv6 address: ${host}`);
  return { host, port };
}

/** Loopback addresses: only processes on this host reach them, so they need no token. */
export function isLoopback(host: string): boolean {
  const h = host.toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h) || /^::ffff:127\.\d+\.\d+\.\d+$/.test(h);
}

const listen = z.union([z.string(), z.literal(false)]).transform((value, ctx) => {
  try {
    return parseListen(value);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
    return z.NEVER;
  }
});

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

export const metricsSchema = z
  .strictObject({
    listen: listen
      .prefault('127.0.0.1:9750')
      .describe(
        'address of the HTTP listener serving /metrics (Prometheus) and /api; "off" disables it. If the port is taken ' +
          '(another mount), the next free one is used and the log and tierfs status say which; if another user holds it, ' +
          'nothing is served (that user would answer this address) and status says why',
      ),
    token: z
      .string()
      .min(16)
      .optional()
      .describe(
        'bearer token of the HTTP listener for everything: its API and dashboard need it (or a dashboard login) everywhere, /metrics off loopback; without one, a token is generated into dataDir/metrics.token (mode 0600)',
      ),
    scrapeToken: z
      .string()
      .min(16)
      .optional()
      .describe(
        'bearer token that reads /metrics and nothing else: the one to give Prometheus (metrics.token moves files and changes the configuration); without one, a token is generated into dataDir/scrape.token (mode 0600)',
      ),
    history: z
      .strictObject({
        enabled: z.boolean().default(true).describe('sample the key series into the catalog every minute (tierfs history)'),
        minutes: duration().prefault('2d').describe('how long 1-minute points are kept'),
        hours: duration().prefault('90d').describe('how long 1-hour points are kept'),
        days: duration().prefault('730d').describe('how long 1-day points are kept'),
      })
      .refine((h) => h.minutes >= HOUR_MS && h.hours >= DAY_MS && h.days >= DAY_MS, {
        message: 'keep 1-minute points at least 1h and hourly and daily points at least 1d: coarser points are made from finer ones',
      })
      .prefault({}),
    probeInterval: duration().prefault('30s').describe('how often each object-store backend is probed (tierfs_backend_up)'),
  })
  .prefault({})
  .describe('Prometheus metrics, their history in the catalog, and the HTTP listener (docs/MONITORING.md)');

export type MetricsConfig = z.output<typeof metricsSchema>;
