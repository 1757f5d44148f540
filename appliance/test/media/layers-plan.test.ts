// Which picture of a camera goes where, as pure decisions (layers.ts): per
// link from the layouts of the TVs behind it, per browser from how it shows
// each site.
import t from 'tap';
import { featuredSites } from '../../src/media/forwarding.js';
import { linkCarries, linkNeeds, receiverLayer, receiverPicks } from '../../src/media/layers.js';

const m = { chairSiteId: 'chair', floorSiteId: 'floor', rollCallSiteId: null };
const sorted = (s: ReadonlySet<string>): string[] => [...s].sort();

t.test('a link carries the layers the TVs behind it show', async (t) => {
  const featured = featuredSites(m, ['s1']);
  const plain = linkNeeds(m, ['s1'], featured, ['commune-1', 'commune-2']);
  t.same(sorted(plain.full), ['chair', 'floor', 's1'], 'every featured camera is large on those TVs');
  t.same(sorted(plain.small), [], 'and no thumbnail: no small picture crosses');

  const rollCall = { ...m, rollCallSiteId: 'r' };
  const rc = linkNeeds(rollCall, ['s1'], featuredSites(rollCall, ['s1']), ['commune-1']);
  t.same(sorted(rc.full), ['r'], 'in a roll call only the called site is large');
  t.same(sorted(rc.small), ['chair', 'floor', 's1'], 'the others cross as small pictures only');
  t.equal(linkCarries(rc, 'chair', 'full', true), false, "the chair's full picture stays behind");
  t.equal(linkCarries(rc, 'chair', 'small', true), true);
  t.equal(
    linkCarries(rc, 'chair', 'full', false),
    true,
    'a camera with no small picture crosses in full where its thumbnail is needed',
  );

  const self = linkNeeds(rollCall, ['s1'], featuredSites(rollCall, ['s1']), ['r']);
  t.notOk(self.full.has('r'), 'the called site does not see itself');

  const up = linkNeeds(m, ['s1'], featured, null);
  t.same([sorted(up.full), sorted(up.small)], [sorted(featured), sorted(featured)], 'upstream (viewers unknown): both');
});

t.test('a browser gets the picture that fits where it shows a site', async (t) => {
  const layout = { large: ['chair'] };
  const both = new Set(['full', 'small'] as const);
  t.equal(receiverLayer('kiosk', layout, 'chair', both), 'full', "the TV's large picture");
  t.equal(receiverLayer('kiosk', layout, 'floor', both), 'small', "the TV's thumbnail");
  t.equal(receiverLayer('grid', layout, 'chair', both), 'small', "a laptop's grid");
  t.equal(receiverLayer('kiosk', layout, 'floor', new Set(['full'] as const)), 'full', 'one picture only: that one');
  t.equal(receiverLayer('kiosk', layout, 'chair', new Set(['small'] as const)), 'small', 'full held back: the small');
  t.equal(receiverLayer('kiosk', layout, 'chair', new Set()), null);

  const picks = receiverPicks('kiosk', layout, [
    { id: 'c-full', siteId: 'chair', layer: 'full', paused: false },
    { id: 'c-small', siteId: 'chair', layer: 'small', paused: false },
    { id: 'f-full', siteId: 'floor', layer: 'full', paused: false },
    { id: 'f-small', siteId: 'floor', layer: 'small', paused: true },
    { id: 'x-full', siteId: 'x', layer: 'full', paused: true },
  ]);
  t.same(
    Object.fromEntries(picks),
    { chair: 'c-full', floor: 'f-full' },
    'a paused stream is not picked: the floor falls back to the full picture that flows',
  );
});
