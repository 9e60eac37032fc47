// The classifier against a real catalog: which files a pass examines, what it
// stores and queues, and what holds a move back (residency, pins, open files, room).
import { afterEach, describe, expect, it } from 'vitest';
import { ROOT_INO } from '../../src/catalog/catalog.js';
import { AUTO_PRIORITY } from '../../src/policy/classifier.js';
import { DAY, HOUR } from './facts.js';
import { fixture, fixtureWithCold, type Fixture } from './fixture.js';

const MIN = 60_000;
let f: Fixture | undefined;
afterEach(() => {
  f?.dispose();
  f = undefined;
});

describe('classifier', () => {
  it('a full pass decides every file, stores why, and queues the moves', () => {
    const t0 = Date.now();
    f = fixture({ policy: { minResidency: 0, rules: [{ name: 'isos', match: { path: ['*.iso'] }, target: 'warm' }] } });
    const iso = f.file('media/disk.iso', 4000);
    const doc = f.file('docs/a.txt', 10);
    const r = f.classifier.pass(true, t0 + MIN);
    expect(r).toMatchObject({ full: true, examined: 2, enqueued: 1, demotions: 0 });
    expect(f.catalog.decision(iso)).toMatchObject({ timeMs: t0 + MIN, target: 'warm', rule: 'isos', reason: 'path matches *.iso' });
    expect(JSON.parse(f.catalog.decision(iso)!.inputs)).toMatchObject({ tier: 'hot', size: 4000, heat: 0 });
    expect(f.catalog.decision(doc)).toMatchObject({ target: null, rule: 'default' });
    expect(f.catalog.queuedMoves()).toEqual([
      expect.objectContaining({ ino: iso, toTier: 'warm', priority: AUTO_PRIORITY, requestedBy: 'rule:isos', reason: 'path matches *.iso' }),
    ]);
  });

  it('an incremental pass examines only files that changed or crossed a threshold', () => {
    const t0 = Date.now();
    f = fixture({ policy: { minResidency: 0, rules: [{ name: 'idle', match: { idleAbove: '1h' }, target: 'warm' }] } });
    const inos = Array.from({ length: 20 }, (_, i) => f!.file(`f${i}`, 100));
    expect(f.classifier.pass(true, t0 + 10 * MIN)).toMatchObject({ examined: 20, enqueued: 0 });

    const used = inos.slice(0, 5);
    f.open(used, t0 + 50 * MIN);
    // The five opened files are dirty; nothing else changed.
    expect(f.classifier.pass(false, t0 + 55 * MIN)).toMatchObject({ full: false, examined: 5, enqueued: 0 });
    expect(f.catalog.decision(inos[10]!)!.timeMs).toBe(t0 + 10 * MIN); // not looked at again

    // An hour after creation the fifteen unopened files cross idleAbove 1h; the opened ones
    // have not (they arrived in that window too, so they may be looked at: at most 20).
    const crossed = f.classifier.pass(false, t0 + 100 * MIN);
    expect(crossed).toMatchObject({ enqueued: 15 });
    expect(crossed.examined).toBeGreaterThanOrEqual(15);
    expect(crossed.examined).toBeLessThanOrEqual(20);
    expect([...f.queued().keys()].sort((a, b) => a - b)).toEqual(inos.slice(5));

    // Nothing changed since: nothing to look at.
    expect(f.classifier.pass(false, t0 + 101 * MIN)).toMatchObject({ examined: 0, enqueued: 0 });
    // Later the opened ones cross too.
    expect(f.classifier.pass(false, t0 + 115 * MIN)).toMatchObject({ examined: 5, enqueued: 5 });
  });

  it('minimum residency holds a move back, says so, and the pass after it ends queues it', () => {
    const t0 = Date.now();
    f = fixture({ policy: { minResidency: '1d', rules: [{ name: 'isos', match: { path: ['*.iso'] }, target: 'warm' }] } });
    const iso = f.file('disk.iso', 4000);
    expect(f.classifier.pass(true, t0 + HOUR)).toMatchObject({ examined: 1, enqueued: 0 });
    expect(f.catalog.decision(iso)!.reason).toMatch(/^path matches \*\.iso; not moved yet: minimum residency on hot until /);
    expect(f.queued().size).toBe(0);
    expect(f.classifier.pass(false, t0 + 2 * HOUR)).toMatchObject({ examined: 0 });
    // The incremental pass after the residency ended finds the file without a full pass.
    expect(f.classifier.pass(false, t0 + DAY + MIN)).toMatchObject({ full: false, examined: 1, enqueued: 1 });
    expect(f.queued().get(iso)).toBe('warm');
  });

  it('a pin beats the rules and the residency; an unpinned sibling follows the rules', () => {
    const t0 = Date.now();
    f = fixture({ policy: { minResidency: '1d', rules: [{ name: 'all-warm', target: 'warm' }] } });
    const keptDir = f.dir('keep');
    const kept = f.file('keep/a', 10);
    const pinnedFile = f.file('b', 10);
    const other = f.file('c', 10);
    f.catalog.setPin(keptDir, 'hot');
    f.catalog.setPin(pinnedFile, 'warm');
    f.classifier.pass(true, t0 + DAY + MIN);
    expect(f.catalog.decision(kept)).toMatchObject({ target: 'hot', rule: 'pin' });
    expect(f.queued()).toEqual(new Map([[pinnedFile, 'warm'], [other, 'warm']]));

    // Within residency: only the pin moves the file.
    const t1 = Date.now();
    f.catalog.setPin(other, null);
    const fresh = f.file('d', 10);
    f.catalog.setPin(fresh, 'warm');
    const young = f.file('e', 10);
    f.classifier.pass(true, t1 + MIN);
    expect(f.queued().get(fresh)).toBe('warm');
    expect(f.queued().has(young)).toBe(false);
  });

  it('heat that decays past a rule threshold (as hysteresis leans it) is found by the next incremental pass', () => {
    const t0 = Date.now();
    f = fixture({ policy: { minResidency: 0, halfLife: '1h', hysteresis: 0.1, rules: [{ name: 'cool', match: { heatBelow: 0.5 }, target: 'warm' }] } });
    const used = f.file('used', 10);
    const busier = f.file('busier', 10);
    const never = f.file('never', 10);
    f.open([used], t0, 2); // heat 2
    f.open([busier], t0, 8); // heat 8
    // Never opened: heat 0, below the threshold from the first pass on.
    expect(f.classifier.pass(true, t0 + MIN)).toMatchObject({ enqueued: 1 });
    expect([...f.queued().keys()]).toEqual([never]);
    // Thresholds 0.55, 0.5 and 0.45 (0.5 leaned either way by 10%): heat 2 crosses the first
    // after log2(2 / 0.55) = 1.86 half-lives, and the one that moves it (harder to leave
    // hot) after log2(2 / 0.45) = 2.15.
    expect(f.classifier.pass(false, t0 + 1.8 * HOUR)).toMatchObject({ full: false, examined: 0, enqueued: 0 });
    const r = f.classifier.pass(false, t0 + 2.2 * HOUR);
    expect(r).toMatchObject({ full: false, examined: 1, enqueued: 1 });
    expect(f.queued().get(used)).toBe('warm');
    expect(f.catalog.decision(used)!.reason).toMatch(/^heat 0\.4\d < 0\.45/);
    // 8 crosses 0.55 after 3.86 half-lives, 0.45 after 4.15.
    expect(f.classifier.pass(false, t0 + 3.8 * HOUR)).toMatchObject({ examined: 0 });
    expect(f.classifier.pass(false, t0 + 4.2 * HOUR)).toMatchObject({ examined: 1, enqueued: 1 });
    expect(f.queued().get(busier)).toBe('warm');
  });

  it('the heat crossings follow a new half-life', () => {
    const t0 = Date.now();
    f = fixture({ policy: { minResidency: 0, halfLife: '1h', hysteresis: 0, rules: [{ name: 'cool', match: { heatBelow: 0.5 }, target: 'warm' }] } });
    const used = f.file('used', 10);
    f.open([used], t0, 4); // heat 4: below 0.5 after 3 half-lives
    f.classifier.pass(true, t0 + MIN);
    // A 2 h half-life from now on (a configuration apply): 6 h, not 3 h.
    f.policy.halfLife = 2 * HOUR;
    f.classifier.pass(true, t0 + 2 * MIN);
    expect(f.classifier.pass(false, t0 + 5.9 * HOUR)).toMatchObject({ examined: 0, enqueued: 0 });
    expect(f.classifier.pass(false, t0 + 6.1 * HOUR)).toMatchObject({ examined: 1, enqueued: 1 });
    expect(f.queued().get(used)).toBe('warm');
  });

  it('a pin or unpin set after a pass reaches the next incremental pass, for a file and for every file below a directory', () => {
    const t0 = Date.now();
    f = fixture({ policy: { minResidency: 0, rules: [] } });
    const file = f.file('f', 10);
    const dir = f.dir('d');
    f.dir('d/e');
    const deep = f.file('d/e/g', 10);
    const outside = f.file('h', 10);
    expect(f.classifier.pass(true, t0 + MIN)).toMatchObject({ enqueued: 0 });
    expect(f.classifier.pass(false, t0 + 2 * MIN)).toMatchObject({ examined: 0 });

    f.catalog.setPin(file, 'warm');
    f.catalog.setPin(dir, 'warm');
    const r = f.classifier.pass(false, t0 + 3 * MIN);
    expect(r).toMatchObject({ full: false, enqueued: 2 });
    expect(f.queued()).toEqual(new Map([[file, 'warm'], [deep, 'warm']]));
    expect(f.queued().has(outside)).toBe(false);

    // Unpinned before the mover got to it: the queued move is dropped at the next pass.
    f.catalog.setPin(file, null);
    f.classifier.pass(false, t0 + 4 * MIN);
    expect(f.queued()).toEqual(new Map([[deep, 'warm']]));
  });

  it('a file open for writing is not queued, and a queued move the file no longer needs is dropped', () => {
    const t0 = Date.now();
    f = fixture({ policy: { minResidency: 0, hysteresis: 0, rules: [{ name: 'cool', match: { heatBelow: 1 }, target: 'warm' }] } });
    const writing = f.file('log', 10);
    const cool = f.file('cool', 10);
    f.openForWrite.add(writing);
    f.classifier.pass(true, t0 + MIN);
    expect(f.catalog.decision(writing)!.reason).toMatch(/not moved yet: open for writing/);
    expect([...f.queued().keys()]).toEqual([cool]);
    // cool gets used before the mover got to it: it belongs on hot after all.
    f.open([cool], t0 + 2 * MIN, 3);
    f.classifier.pass(false, t0 + 3 * MIN);
    expect(f.queued().size).toBe(0);
    // a manual request is never dropped by the classifier
    f.catalog.enqueueMove({ ino: cool, toTier: 'warm', priority: 0, requestedBy: 'cli', reason: 'asked' });
    f.open([cool], t0 + 4 * MIN);
    f.classifier.pass(false, t0 + 5 * MIN);
    expect(f.queued().get(cool)).toBe('warm');
  });

  // Promotions used to stop at the low watermark, counting only what the same pass had
  // queued: a file a rule wanted on a tier between its watermarks never got there even
  // past colder files, and a later pass queued promotions again on top of the earlier
  // ones. Now they fill up to the high watermark, counting every queued move, and past
  // it a clearly colder file leaves to make room.
  it('promotions fill a tier up to its high watermark, counting every queued move; past it, clearly colder files make room', () => {
    const t0 = Date.now();
    f = fixture({ hotCapacity: 1000, watermarks: { high: 0.6, low: 0.5 }, policy: { minResidency: 0, rules: [{ name: 'hot', match: { heatAbove: 1 }, target: 'hot' }] } });
    const resident = f.file('resident', 300); // never opened: colder than every busy file
    const busy = Array.from({ length: 4 }, (_, i) => f!.file(`w${i}`, 100, 'warm'));
    f.open(busy, t0, 5);
    // 300 + 3 × 100 = 600 = high; the fourth comes in because the resident file leaves.
    expect(f.classifier.pass(true, t0 + MIN)).toMatchObject({ enqueued: 5, demotions: 1 });
    expect(f.queued()).toEqual(new Map([...busy.map((ino) => [ino, 'hot'] as const), [resident, 'warm']]));
    const room = f.catalog.queuedMoveOf(resident)!;
    expect(room.requestedBy).toBe('watermark:hot:room');
    expect(room.reason).toMatch(/^demoted by the hot watermark to make room for a hotter file: the coldest file on hot/);

    // Nothing changed: a later pass queues nothing again and keeps what is queued.
    expect(f.classifier.pass(false, t0 + 2 * MIN)).toMatchObject({ enqueued: 0 });
    expect(f.queued().size).toBe(5);

    // Three more: hot will hold 4 × 100 of 600 once the queue has run, so two fit; the
    // third finds no room and nothing clearly colder.
    const more = Array.from({ length: 3 }, (_, i) => f!.file(`x${i}`, 100, 'warm'));
    f.open(more, t0 + 2 * MIN, 5);
    f.classifier.pass(false, t0 + 3 * MIN);
    expect(more.filter((ino) => f!.queued().get(ino) === 'hot')).toHaveLength(2);
    const held = more.find((ino) => !f!.queued().has(ino))!;
    expect(f.catalog.decision(held)!.reason).toMatch(/not moved yet: tier hot has no room below its high watermark, and no file there is clearly colder/);
    expect(f.queued().get(resident)).toBe('warm');
  });

  // A promotion held back for room was looked at again only by the next full pass (an
  // hour by default) or when its file was used again: room that a delete, a truncation
  // or a finished demotion made stayed unused meanwhile. Found by the policy simulator:
  // with full passes a month apart it moved twice the bytes for a lower hit ratio.
  it('a promotion held back for room is queued by the first incremental pass after room appears', () => {
    const t0 = Date.now();
    f = fixture({ hotCapacity: 1000, watermarks: { high: 0.6, low: 0.5 }, policy: { minResidency: 0, rules: [{ name: 'hot', match: { heatAbove: 1 }, target: 'hot' }] } });
    const residents = Array.from({ length: 6 }, (_, i) => f!.file(`r${i}`, 100)); // hot at its high watermark
    f.open(residents, t0, 5);
    const waiting = f.file('waiting', 100, 'warm');
    f.open([waiting], t0, 5); // as hot as the residents: none of them leaves for it
    f.classifier.pass(true, t0 + MIN);
    expect(f.queued().has(waiting)).toBe(false);
    expect(f.catalog.decision(waiting)!.reason).toMatch(/not moved yet: tier hot has no room below its high watermark/);
    // Nothing changed: the held promotion stays held, without a look at every file.
    expect(f.classifier.pass(false, t0 + 2 * MIN)).toMatchObject({ enqueued: 0 });
    expect(f.queued().has(waiting)).toBe(false);

    f.catalog.removeName(ROOT_INO, 'r0');
    f.catalog.deleteInode(residents[0]!);
    expect(f.classifier.pass(false, t0 + 3 * MIN)).toMatchObject({ full: false, enqueued: 1 });
    expect(f.queued().get(waiting)).toBe('hot');
  });

  // The other way room appears: a resident's minimum residency ends, and it may leave for
  // a hotter file. Time alone changes nothing else for a held promotion (heat decays alike
  // for every file), which is what lets full passes be a day apart.
  it('a promotion held back by residents inside their minimum residency is queued by the first incremental pass after it ends', () => {
    const t0 = Date.now();
    f = fixture({ hotCapacity: 1000, watermarks: { high: 0.6, low: 0.5 }, policy: { minResidency: '1h', rules: [{ name: 'hot', match: { heatAbove: 1 }, target: 'hot' }] } });
    const residents = Array.from({ length: 6 }, (_, i) => f!.file(`r${i}`, 100)); // never opened, but new on hot
    const waiting = f.file('waiting', 100, 'warm', t0 - 2 * HOUR);
    f.open([waiting], t0, 5);
    f.classifier.pass(true, t0 + MIN);
    expect(f.queued().size).toBe(0);
    expect(f.catalog.decision(waiting)!.reason).toMatch(/not moved yet: tier hot has no room below its high watermark, and no file there is clearly colder/);
    expect(f.classifier.pass(false, t0 + 30 * MIN)).toMatchObject({ enqueued: 0 });

    // The residents' hour on hot ends; no file was used, deleted or moved meanwhile.
    expect(f.classifier.pass(false, t0 + HOUR + MIN)).toMatchObject({ full: false, enqueued: 2, demotions: 1 });
    expect(f.queued().get(waiting)).toBe('hot');
    expect(residents.filter((ino) => f!.queued().get(ino) === 'warm')).toHaveLength(1);
  });

  // An incremental pass plans capacity with the queue it read and its own changes (each
  // with the id the catalog gave it), so its queue must be the catalog's: a move asked by a
  // person stays queued over a rule's, even one the projection did not count (its file is
  // on its target tier already, until the mover gets to it and drops it).
  it('a rule move does not replace a move asked at a higher priority, and the pass says so', () => {
    const t0 = Date.now();
    f = fixture({ policy: { minResidency: 0, rules: [{ name: 'hot', match: { heatAbove: 1 }, target: 'hot' }] } });
    const file = f.file('f', 100, 'warm');
    f.classifier.pass(true, t0);
    const manualId = f.catalog.enqueueMove({ ino: file, toTier: 'warm', priority: 0, requestedBy: 'cli', reason: 'asked' });
    expect(manualId).toBeGreaterThan(0);
    f.open([file], t0 + MIN, 5);
    expect(f.classifier.pass(false, t0 + 2 * MIN)).toMatchObject({ full: false, enqueued: 0 });
    expect(f.catalog.queuedMoveOf(file)).toMatchObject({ id: manualId, toTier: 'warm', requestedBy: 'cli' });
    expect(f.catalog.decision(file)!.reason).toMatch(/not moved yet: a move asked at a higher priority is queued for it/);
  });

  // Capacity planning weighs 1,000 promotions waiting for room per pass. A full pass meets
  // files in inode order and offered the first 1,000 it met: the oldest files, however
  // lukewarm, while the hottest, created later, waited for their next use.
  it('a full pass offers capacity planning the hottest promotions waiting for room, not the first ones it meets', () => {
    const t0 = Date.now();
    f = fixture({ hotCapacity: 1000, watermarks: { high: 0.6, low: 0.5 }, policy: { minResidency: 0, rules: [{ name: 'hot', match: { heatAbove: 1 }, target: 'hot' }] } });
    Array.from({ length: 600 }, (_, i) => f!.file(`r${i}`, 1)); // hot at its high watermark, never opened
    const lukewarm = Array.from({ length: 1200 }, (_, i) => f!.file(`l${i}`, 1, 'warm'));
    const hottest = Array.from({ length: 300 }, (_, i) => f!.file(`h${i}`, 1, 'warm'));
    f.open(lukewarm, t0, 2);
    f.open(hottest, t0, 20);
    f.classifier.pass(true, t0 + MIN);
    const queued = f.queued();
    expect(hottest.filter((ino) => queued.get(ino) === 'hot')).toHaveLength(300);
    expect(lukewarm.filter((ino) => queued.get(ino) === 'hot')).toHaveLength(300); // the room left
  });

  it('a move held back because the file was open is queued by the first pass after it closes', () => {
    const t0 = Date.now();
    f = fixture({ policy: { minResidency: 0, rules: [{ name: 'isos', match: { path: ['*.iso'] }, target: 'warm' }] } });
    const iso = f.file('disk.iso', 4000);
    f.openForWrite.add(iso);
    f.classifier.pass(true, t0 + MIN);
    expect(f.queued().has(iso)).toBe(false);
    expect(f.catalog.decision(iso)!.reason).toMatch(/not moved yet: open for writing/);
    expect(f.classifier.pass(false, t0 + 2 * MIN)).toMatchObject({ examined: 1, enqueued: 0 }); // still open
    f.openForWrite.delete(iso);
    expect(f.classifier.pass(false, t0 + 3 * MIN)).toMatchObject({ full: false, examined: 1, enqueued: 1 });
    expect(f.queued().get(iso)).toBe('warm');
    expect(f.classifier.pass(false, t0 + 4 * MIN)).toMatchObject({ examined: 0 });
  });

  it('above the high watermark, demotes the coldest movable files down to low, and keeps draining', () => {
    const t0 = Date.now();
    f = fixture({ hotCapacity: 1000, watermarks: { high: 0.9, low: 0.6 }, policy: { minResidency: 0 } });
    const inos = Array.from({ length: 10 }, (_, i) => f!.file(`f${i}`, 100)); // 100% full
    // heat: f0 coldest … f9 hottest (f0 never opened)
    inos.forEach((ino, i) => i > 0 && f!.open([ino], t0, i));
    f.catalog.setPin(inos[1]!, 'hot');
    f.openForWrite.add(inos[2]!);
    const r = f.classifier.pass(true, t0 + MIN);
    expect(r.demotions).toBe(4); // 1000 → 600: four files, skipping the pinned and the open one
    const queued = f.queued();
    expect([...queued.keys()].sort((a, b) => a - b)).toEqual([inos[0], inos[3], inos[4], inos[5]]);
    expect([...queued.values()].every((t) => t === 'warm')).toBe(true);
    expect(f.catalog.queuedMoves()[0]!.requestedBy).toBe('watermark:hot');
    expect(f.catalog.decision(inos[0]!)).toMatchObject({ target: 'warm', rule: 'watermark:hot' });

    // The mover has moved two of them (hot at 800%: below high, above low). The next
    // full pass re-decides every file (no rule: they stay) but the tier still drains.
    for (const ino of [inos[0]!, inos[3]!]) f.catalog.setLocation(ino, { tier: 'warm', volume: 'v', layout: null });
    for (const ino of [inos[0]!, inos[3]!]) f.catalog.dequeue(f.catalog.queuedMoves().find((e) => e.ino === ino)!.id);
    f.classifier.pass(true, t0 + 2 * MIN);
    expect([...f.queued().keys()].sort((a, b) => a - b)).toEqual([inos[4], inos[5]]);
    // Down to low: no more demotions.
    for (const ino of [inos[4]!, inos[5]!]) f.catalog.setLocation(ino, { tier: 'warm', volume: 'v', layout: null });
    expect(f.classifier.pass(true, t0 + 3 * MIN).demotions).toBe(0);
  });

  it('explains capacity: which watermark demoted a file and how many colder ones went first, or why a file stays', () => {
    const t0 = Date.now();
    f = fixture({ hotCapacity: 1000, watermarks: { high: 0.9, low: 0.6 }, policy: { minResidency: 0 } });
    const inos = Array.from({ length: 10 }, (_, i) => f!.file(`f${i}`, 100));
    inos.forEach((ino, i) => i > 0 && f!.open([ino], t0, i));
    f.classifier.pass(true, t0 + MIN);
    const why = (i: number) => f!.classifier.explainCapacity(inos[i]!, t0 + MIN);
    expect(why(0)).toBe('demoted by the hot watermark: the coldest file on hot (hot at 100.0%, above its high watermark 90%; heat 0.00)');
    expect(why(3)).toMatch(/^demoted by the hot watermark: 3 colder files went first \(hot at 70\.0%, relieving down to its low watermark 60%/);
    expect(why(9)).toBe('held: colder files leave hot first (hot at 60.0% once they are gone; low watermark 60%)');
    expect(f.classifier.pressure.get('hot')).toMatch(/^relieving pressure: 4 files leaving \(400 bytes queued\), hot will be at 60\.0%/);
    // The mover has run them: the demoted files say why they are where they are.
    for (const e of f.catalog.queuedMoves()) {
      f.catalog.setLocation(e.ino, { tier: e.toTier, volume: 'v', layout: null });
      f.catalog.dequeue(e.id);
    }
    f.classifier.pass(false, t0 + 2 * MIN);
    expect(why(0)).toMatch(/^demoted by the hot watermark: the coldest file on hot/);
    expect(why(9)).toBe('held: the tier is below its low watermark (hot at 60.0%, low 60%)');
    expect(f.classifier.pressure.size).toBe(0);
  });

  it('minimum residency does not hold relief back (and says so); promotions still wait for it', () => {
    const t0 = Date.now();
    f = fixture({ hotCapacity: 1000, watermarks: { high: 0.9, low: 0.75 }, policy: { minResidency: '1d', rules: [{ name: 'busy', match: { heatAbove: 2 }, target: 'hot' }] } });
    const young = Array.from({ length: 10 }, (_, i) => f!.file(`h${i}`, 100)); // 100%, all arrived just now
    const busy = f.file('w', 100, 'warm');
    f.open([busy], t0, 10);
    f.classifier.pass(true, t0 + MIN);
    const queued = f.queued();
    expect([...queued.keys()].filter((ino) => young.includes(ino))).toHaveLength(2); // 100% → 80%
    expect(f.catalog.queuedMoveOf(young[0]!)!.reason).toMatch(/minimum residency waived: relieving pressure on hot$/);
    expect(queued.has(busy)).toBe(false);
    expect(f.catalog.decision(busy)!.reason).toMatch(/not moved yet: minimum residency on warm until/);
  });

  it("respects an object tier's capacity: rule moves stop at its high watermark, relief finds no room and status says why", async () => {
    const t0 = Date.now();
    f = await fixtureWithCold({
      hotCapacity: 1000,
      warmCapacity: 1000,
      coldCapacity: 1000,
      watermarks: { high: 0.9, low: 0.6 },
      policy: { minResidency: 0, rules: [{ name: 'isos', match: { path: ['*.iso'] }, target: 'cold' }] },
    });
    const isos = Array.from({ length: 12 }, (_, i) => f!.file(`d${i}.iso`, 50, 'warm'));
    for (let i = 0; i < 9; i++) f.file(`w${i}`, 100, 'warm'); // warm: 600 + 900 = 150%, at or above high whatever leaves
    for (let i = 0; i < 10; i++) f.file(`h${i}`, 100); // hot: 100%
    f.classifier.pass(true, t0 + MIN);
    const toCold = [...f.queued()].filter(([, to]) => to === 'cold').map(([ino]) => ino);
    expect(toCold.filter((ino) => isos.includes(ino))).toHaveLength(12); // 12 × 50 = 600 fits under 900
    // Once the isos are gone warm is at its high watermark: no room for hot's coldest
    // there. Cold takes three of them (900); the fourth waits, and status says why.
    expect(toCold.length).toBe(15);
    expect(f.classifier.pressure.get('hot')).toMatch(
      /^relieving pressure: 3 files leaving \(300 bytes queued\), hot will be at 70\.0%; hot at 70\.0%, relieving down to its low watermark 60%: its coldest file waits: no tier below has room for 100 bytes$/,
    );
    expect(f.classifier.pressure.has('warm')).toBe(false);
  });

  it('a settled tree costs a full pass reads, not writes; explain() gives live figures', () => {
    const t0 = Date.now();
    f = fixture({ policy: { minResidency: '1d', rules: [{ name: 'isos', match: { path: ['*.iso'] }, target: 'warm' }] } });
    const iso = f.file('disk.iso', 4000);
    const doc = f.file('a.txt', 10);
    f.classifier.pass(true, t0 + HOUR);
    f.classifier.pass(true, t0 + 2 * HOUR);
    // Same outcomes: the stored decisions are the first pass's.
    expect(f.catalog.decision(doc)!.timeMs).toBe(t0 + HOUR);
    expect(f.catalog.decision(iso)!.timeMs).toBe(t0 + HOUR);
    // Residency over: the outcome changed, so it is written.
    f.classifier.pass(true, t0 + DAY + MIN);
    expect(f.catalog.decision(iso)).toMatchObject({ timeMs: t0 + DAY + MIN, reason: 'path matches *.iso' });
    expect(f.catalog.decision(doc)!.timeMs).toBe(t0 + HOUR);
    expect(f.classifier.explain(iso, t0 + HOUR)).toMatchObject({ target: 'warm', rule: 'isos', hold: expect.stringMatching(/^minimum residency on hot until/) });
    expect(f.classifier.explain(doc)).toMatchObject({ target: null, rule: 'default', hold: null });
  });

  it('passInSteps gives the event loop back between pages', async () => {
    f = fixture({ policy: { minResidency: 0 } });
    f.catalog.tx(() => {
      for (let i = 0; i < 12_000; i++) f!.file(`f${i}`, 1);
    });
    // One tick per turn of the event loop's check phase: the pass, which yields with
    // setImmediate, lets exactly one through each time it gives the loop back.
    let ticks = 0;
    let ticking = true;
    const tick = () => {
      if (!ticking) return;
      ticks++;
      setImmediate(tick);
    };
    setImmediate(tick);
    const [a, b] = [f.classifier.passInSteps(true), f.classifier.passInSteps(true)];
    expect(b).toBe(a); // one pass at a time
    const r = await a;
    ticking = false;
    expect(r.examined).toBe(12_000);
    // 12,000 files are three pages of 5,000: about one turn per page, neither a pass
    // that keeps the loop for itself (0) nor one that yields per file (thousands).
    expect(ticks).toBeGreaterThanOrEqual(3);
    expect(ticks).toBeLessThanOrEqual(5);
  });

  it('passInSteps runs a new pass each time once the last one is over, even one with nothing to yield', async () => {
    f = fixture({ policy: { minResidency: 0 } });
    const a = f.file('a', 1);
    await new Promise((r) => setTimeout(r, 5)); // arrived strictly before the first pass
    await f.classifier.passInSteps(true);
    expect((await f.classifier.passInSteps(false)).examined).toBe(0);
    f.open([a], Date.now());
    expect((await f.classifier.passInSteps(false)).examined).toBe(1); // not the previous pass's report
  });
});
