// What the TV shows, from the chair's controls and the active speaker.
import t from 'tap';
import { kioskLayout, type LayoutInput } from '../../src/media/layout.js';

const base: LayoutInput = {
  localSiteId: 'a', chairSiteId: 'chair', floorSiteId: null, rollCallSiteId: null, activeSpeakerSiteId: null, videoSites: ['a', 'chair', 'b', 'c'],
};

t.same(kioskLayout(base), { large: ['chair'], small: ['b', 'c'], self: 'a' }, 'the chair large, the others small, never the room itself');
t.same(kioskLayout({ ...base, activeSpeakerSiteId: 'b' }), { large: ['chair', 'b'], small: ['c'], self: 'a' }, 'the active speaker joins the chair');
t.same(kioskLayout({ ...base, activeSpeakerSiteId: 'a' }), { large: ['chair'], small: ['b', 'c'], self: 'a' }, 'speaking in this room does not show it to itself');
t.same(kioskLayout({ ...base, activeSpeakerSiteId: 'b', floorSiteId: 'c' }), { large: ['chair', 'c'], small: ['b'], self: 'a' }, 'the floor wins over the loudest site');
t.same(kioskLayout({ ...base, rollCallSiteId: 'c', activeSpeakerSiteId: 'b' }), { large: ['c'], small: ['chair', 'b'], self: 'a' }, 'a roll call shows one site to everyone');
t.same(kioskLayout({ ...base, rollCallSiteId: 'a' }), { large: ['chair'], small: ['b', 'c'], self: 'a' }, 'a roll call of this room shows it elsewhere, not here');
t.same(kioskLayout({ ...base, localSiteId: 'chair', videoSites: ['chair', 'b', 'c'] }), { large: ['b'], small: ['c'], self: 'chair' }, 'the chair\'s own TV shows someone else large');
t.same(kioskLayout({ ...base, videoSites: ['a'] }), { large: [], small: [], self: 'a' }, 'alone in the meeting: nothing to show');
t.same(kioskLayout({ ...base, videoSites: ['b', 'b', 'c'] }), { large: ['b'], small: ['c'], self: 'a' }, 'chair not yet arrived: first other site large, no duplicates');
