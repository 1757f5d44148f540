// Selective forwarding as pure decisions: which cameras cross the links, and
// how the speakers list moves.
import t from 'tap';
import { featuredSites, forwards, nextSpeakers, RECENT_SPEAKERS } from '../../src/media/forwarding.js';

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

t.test('what crosses a link', async (t) => {
  const featured = featuredSites(m, ['s1']);
  t.equal(forwards('video', 'chair', featured), true);
  t.equal(forwards('video', 's1', featured), true, "the speaker's camera");
  t.equal(forwards('video', 'other', featured), false, 'any other camera is held back');
  t.equal(
    forwards('audio', 'other', featured),
    true,
    "every microphone crosses (the chair's controls pause them at the source)",
  );
});

t.test('speakers list', async (t) => {
  const one = nextSpeakers([], 'a');
  t.same(one, ['a']);
  t.equal(nextSpeakers(one, 'a'), one, 'the same speaker again changes nothing (same list object)');
  t.same(nextSpeakers(['a', 'b'], 'c'), ['c', 'a'], 'most recent first, bounded');
  t.same(nextSpeakers(['a', 'b'], 'b'), ['b', 'a'], 'a returning speaker moves to the front, never twice');
});
