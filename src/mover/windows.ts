// Schedule windows: automatic moves into some tiers run only at certain hours (e.g.
// to archive only 01:00–06:00). Pure; local time of the given date.
import type { MoverConfig } from '../config/policy.js';

type Window = MoverConfig['windows'][number];

const minutes = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

/** Is minute-of-day `now` inside [from, to)? A window whose end is before its start spans midnight; from = to is all day. */
function covers(w: Window, now: number): boolean {
  const [from, to] = [minutes(w.from), minutes(w.to)];
  if (from === to) return true;
  return from < to ? now >= from && now < to : now >= from || now < to;
}

/** May an automatic move into `tier` run at `date`? With no window naming the tier, always. */
export function inWindow(windows: MoverConfig['windows'], tier: string, date: Date): boolean {
  const applying = windows.filter((w) => !w.tiers || w.tiers.includes(tier));
  if (applying.length === 0) return true;
  const now = date.getHours() * 60 + date.getMinutes();
  return applying.some((w) => covers(w, now));
}
