// What the TV shows, from the chair's controls and the recent speakers.
import t from 'tap';
import type { MediaMeeting } from '@diemcau/shared';
import { kioskLayout, kioskView, MAX_LARGE, type LayoutInput } from '../../src/media/layout.js';

const base: LayoutInput = {
  localSiteId: 'a',
  chairSiteId: 'chair',
  floorSiteId: null,
  rollCallSiteId: null,
  speakers: [],
  videoSites: ['a', 'chair', 'b', 'c'],
};

t.same(
  kioskLayout(base),
  { large: ['chair'], small: ['b', 'c'], self: 'a' },
  'the chair large, the others small, never the room itself',
);
t.same(
  kioskLayout({ ...base, speakers: ['b'] }),
  { large: ['chair', 'b'], small: ['c'], self: 'a' },
  'the active speaker joins the chair',
);
t.same(
  kioskLayout({ ...base, speakers: ['a'] }),
  { large: ['chair'], small: ['b', 'c'], self: 'a' },
  'speaking in this room does not show it to itself',
);
t.same(
  kioskLayout({ ...base, speakers: ['b'], floorSiteId: 'c' }),
  { large: ['chair', 'c', 'b'], small: [], self: 'a' },
  'the floor comes before the loudest site',
);
t.same(
  kioskLayout({ ...base, rollCallSiteId: 'c', speakers: ['b'] }),
  { large: ['c'], small: ['chair', 'b'], self: 'a' },
  'a roll call shows one site to everyone',
);
t.same(
  kioskLayout({ ...base, rollCallSiteId: 'a' }),
  { large: ['chair'], small: ['b', 'c'], self: 'a' },
  'a roll call of this room shows it elsewhere, not here',
);
t.same(
  kioskLayout({ ...base, localSiteId: 'chair', videoSites: ['chair', 'b', 'c'] }),
  { large: ['b'], small: ['c'], self: 'chair' },
  "the chair's own TV shows someone else large",
);
t.same(
  kioskLayout({ ...base, videoSites: ['a'] }),
  { large: [], small: [], self: 'a' },
  'alone in the meeting: nothing to show',
);
t.same(
  kioskLayout({ ...base, videoSites: ['b', 'b', 'c'] }),
  { large: ['b'], small: ['c'], self: 'a' },
  'chair not yet arrived: first other site large, no duplicates',
);

const many = {
  ...base,
  videoSites: ['a', 'chair', 'b', 'c', 'd', 'e', 'f'],
  floorSiteId: 'f',
  speakers: ['e', 'd', 'c', 'b'],
};
t.same(
  kioskLayout(many),
  { large: ['chair', 'f', 'e', 'd'], small: ['b', 'c'], self: 'a' },
  `at most ${MAX_LARGE} large pictures: chair, floor, then the most recent speakers`,
);

t.test("the view names the sites, the speaker and the chair's decisions", async (t) => {
  const m: MediaMeeting = {
    meetingId: 'm',
    title: 'Giao ban tháng 12',
    role: 'leaf',
    upstream: null,
    acceptToken: null,
    localSiteId: 'a',
    chairSiteId: 'chair',
    floorSiteId: 'b',
    rollCallSiteId: null,
    mutedAll: true,
    state: 'live',
    siteNames: { chair: 'UBND tỉnh', b: 'Xã B' },
  };
  const v = kioskView(m, ['b'], ['chair', 'b', 'c']);
  t.same(v.large, ['chair', 'b']);
  t.equal(v.title, 'Giao ban tháng 12');
  t.equal(v.speakerSiteId, 'b');
  t.equal(v.mutedAll, true);
  t.same(v.names, { chair: 'UBND tỉnh', b: 'Xã B' });
  t.equal(kioskView(m, ['a'], ['chair']).speakerSiteId, null, 'this room speaking is not marked on its own TV');
  t.same(
    kioskView({ ...m, siteNames: undefined }, [], []).names,
    {},
    'a plan without names: captions fall back to ids',
  );
});
