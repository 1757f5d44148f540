// Selective forwarding as pure decisions: which streams cross the links, each way, and
// how the speakers list moves.
import t from 'tap';
import {
  featuredSites,
  flows,
  MAX_WARM,
  nextSpeakers,
  RECENT_SPEAKERS,
  WARM_FOR_MS,
  warmSites,
} from '../../src/media/forwarding.js';

const m = { chairSiteId: 'chair', floorSiteId: null, rollCallSiteId: null };

t.test('featured sites', async (t) => {
  t.same([...featuredSites(m, [])], ['chair'], 'nobody has spoken: only the chair');
  t.same(
    [...featuredSites({ ...m, floorSiteId: 'f', rollCallSiteId: 'r' }, ['s1'])].sort(),
    ['chair', 'f', 'r', 's1'],
    'floor, roll call and the speaker join the chair',
  );
  t.same(
    [...featuredSites(m, ['s1', 's2', 's3'])].sort(),
    ['chair', 's1', 's2'],
    `only the ${RECENT_SPEAKERS} most recent speakers`,
  );
  t.same([...featuredSites(m, ['chair', 's1'])].sort(), ['chair', 's1'], 'the chair speaking is not counted twice');
});

t.test('what crosses a link, by direction', async (t) => {
  const featured = featuredSites(m, ['s1']);
  const s = (kind: 'audio' | 'video', siteId: string, paused = false) => ({ kind, siteId, paused });
  for (const dir of ['up', 'down'] as const) {
    t.equal(flows(s('video', 'chair'), dir, featured), true, `the chair's camera crosses ${dir}`);
    t.equal(flows(s('audio', 's1'), dir, featured), true, `the speaker's microphone crosses ${dir}`);
    t.equal(flows(s('video', 's1'), dir, featured), true, `the speaker's camera crosses ${dir}`);
    t.equal(flows(s('video', 'other'), dir, featured), false, `a camera nobody shows does not cross ${dir}`);
    t.equal(flows(s('audio', 'other', true), dir, featured), false, `a closed microphone does not cross ${dir}`);
  }
  t.equal(flows(s('audio', 'other'), 'up', featured), true, 'an open microphone goes up, for the host to hear');
  t.equal(flows(s('audio', 'other'), 'down', featured), false, 'but not down: nobody below plays a site not featured');
  t.equal(flows(s('audio', 'chair', true), 'down', featured), true, 'a featured stream crosses even while paused');
});

t.test('speakers list', async (t) => {
  const one = nextSpeakers([], 'a');
  t.same(one, ['a']);
  t.equal(nextSpeakers(one, 'a'), one, 'the same speaker again changes nothing (same list object)');
  t.same(nextSpeakers(['a', 'b'], 'c'), ['c', 'a'], 'most recent first, bounded');
  t.same(nextSpeakers(['a', 'b'], 'b'), ['b', 'a'], 'a returning speaker moves to the front, never twice');
});

t.test('warm rooms: heard lately, not featured, the most recent first', async (t) => {
  const featured = featuredSites(m, ['s1']);
  const heard = new Map([
    ['chair', 9_000],
    ['s1', 9_500],
    ['old', 10_000 - WARM_FOR_MS - 1],
    ['a', 8_000],
    ['b', 9_900],
    ['c', 7_000],
  ]);
  t.same(
    warmSites(heard, featured, 10_000),
    { sites: ['b', 'a'], wakeAt: 8_000 + WARM_FOR_MS },
    `featured and long-silent rooms are not warm; ${MAX_WARM} at most; the last of them cools first`,
  );
  t.same(warmSites(heard, featured, 10_000, WARM_FOR_MS, 5).sites, ['b', 'a', 'c'], 'the most recently heard first');
  t.same(warmSites(heard, featured, 8_001 + WARM_FOR_MS).sites, ['b'], 'once cooled, a room is not warm');
  t.same(warmSites(new Map(), featured, 0), { sites: [], wakeAt: null }, 'nobody heard: none, nothing to wait for');
});
