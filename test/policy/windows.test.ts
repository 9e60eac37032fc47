// Schedule windows of the background mover, in local time.
import { describe, expect, it } from 'vitest';
import { inWindow } from '../../src/mover/windows.js';

const at = (hh: number, mm: number) => new Date(2026, 10, 26, hh, mm, 30);

describe('inWindow', () => {
  it('without windows, or none naming the tier, moves run any time', () => {
    expect(inWindow([], 'cold', at(12, 0))).toBe(true);
    expect(inWindow([{ tiers: ['archive'], from: '01:00', to: '02:00' }], 'cold', at(12, 0))).toBe(true);
  });

  it('a daytime window includes its start and excludes its end', () => {
    const w = [{ from: '09:00', to: '17:30' }];
    expect(inWindow(w, 'cold', at(8, 59))).toBe(false);
    expect(inWindow(w, 'cold', at(9, 0))).toBe(true);
    expect(inWindow(w, 'cold', at(17, 29))).toBe(true);
    expect(inWindow(w, 'cold', at(17, 30))).toBe(false);
  });

  it('a window ending before it starts spans midnight', () => {
    const w = [{ tiers: ['archive'], from: '22:00', to: '06:00' }];
    expect(inWindow(w, 'archive', at(21, 59))).toBe(false);
    expect(inWindow(w, 'archive', at(22, 0))).toBe(true);
    expect(inWindow(w, 'archive', at(23, 59))).toBe(true);
    expect(inWindow(w, 'archive', at(0, 0))).toBe(true);
    expect(inWindow(w, 'archive', at(5, 59))).toBe(true);
    expect(inWindow(w, 'archive', at(6, 0))).toBe(false);
    expect(inWindow(w, 'archive', at(12, 0))).toBe(false);
  });

  it('several windows for a tier: any one open will do', () => {
    const w = [
      { tiers: ['cold'], from: '01:00', to: '02:00' },
      { tiers: ['cold', 'archive'], from: '13:00', to: '14:00' },
    ];
    expect(inWindow(w, 'cold', at(1, 30))).toBe(true);
    expect(inWindow(w, 'cold', at(13, 30))).toBe(true);
    expect(inWindow(w, 'cold', at(12, 30))).toBe(false);
    expect(inWindow(w, 'archive', at(1, 30))).toBe(false);
  });

  it('a window from a time to the same time is the whole day', () => {
    expect(inWindow([{ from: '03:00', to: '03:00' }], 'cold', at(2, 59))).toBe(true);
  });
});
