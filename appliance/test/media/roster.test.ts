// The roster as pure data: what a room's own streams say, how rosters from
// several links merge, and what an edge sends up and down.
import t from 'tap';
import { pino } from 'pino';
import { mergeRosters, rosterOf, RosterRelay, ROSTER_DEBOUNCE_MS, type RosterEntry } from '../../src/media/roster.js';

const log = pino({ level: 'silent' });
const e = (siteId: string, mic = false, camera = true): RosterEntry => ({ siteId, mic, camera });

t.test('a room: its microphone open or closed, its camera', async (t) => {
  t.same(
    rosterOf([
      { kind: 'audio', siteId: 'a', paused: true },
      { kind: 'video', siteId: 'a', paused: false },
      { kind: 'audio', siteId: 'b', paused: false },
    ]),
    [e('a', false, true), e('b', true, false)],
  );
});

t.test('merging: sorted by site, the later list wins', async (t) => {
  t.same(mergeRosters([e('b'), e('a', false)], [e('a', true)]), [e('a', true), e('b')]);
});

t.test('a relay sends its side up and the meeting down, once per change', async (t) => {
  let local = [e('r')];
  const up: RosterEntry[][] = [];
  const down: RosterEntry[][] = [];
  const relay = new RosterRelay({
    isHost: false,
    local: () => local,
    sendUp: (x) => up.push(x),
    sendDown: (x) => down.push(x),
    log,
  });
  t.teardown(() => relay.close());
  const settle = () => new Promise((r) => setTimeout(r, ROSTER_DEBOUNCE_MS * 2));
  relay.fromBelow('l1', [e('c1'), e('c2')]);
  relay.fromAbove([e('chair', true), e('r', false, false), e('other')]);
  await settle();
  t.same(up, [[e('c1'), e('c2'), e('r')]], 'up: its own room and what its link below reported, in one message');
  t.same(
    down,
    [[e('c1'), e('c2'), e('chair', true), e('other'), e('r')]],
    "down: the meeting; its own side is fresher than the upstream's",
  );
  relay.fromAbove([e('chair', true), e('c1'), e('c2'), e('other'), e('r')]);
  await settle();
  t.equal(up.length + down.length, 2, 'nothing changed: nothing sent');
  local = [e('r', true)];
  relay.changed();
  relay.fromBelow('l1', null);
  await settle();
  t.same(up.at(-1), [e('r', true)], 'its microphone opened and its link below went');
  t.equal(up.length, 2, 'two changes, one message up');
});

t.test('the host sends nothing up', async (t) => {
  const up: RosterEntry[][] = [];
  const down: RosterEntry[][] = [];
  const relay = new RosterRelay({
    isHost: true,
    local: () => [],
    sendUp: (x) => up.push(x),
    sendDown: (x) => down.push(x),
    log,
  });
  t.teardown(() => relay.close());
  relay.fromBelow('l1', [e('c1')]);
  await new Promise((r) => setTimeout(r, ROSTER_DEBOUNCE_MS * 2));
  t.same(up, []);
  t.same(down, [[e('c1')]]);
});
