// The chair's console's rules: a room's state in words from its media figures
// and its box's presence (including "agent down, media up"), the speaker the
// edges agree on, the measured quality, and the roll call's steps.
import t from 'tap';
import type { MeetingDetail, MeetingSiteStats } from '../../ui/api/types.js';
import { currentSpeaker, nextInRollCall, quality, roomLink, roomStates } from '../../ui/state/room-state.js';
import type { SiteState } from '../../ui/state/derive.js';

const stats = (siteId: string, extra: Partial<MeetingSiteStats> = {}): MeetingSiteStats => ({
  siteId,
  edgeId: `e-${siteId}`,
  at: '2026-12-03T08:00:00Z',
  bitrateBps: 1_032_000,
  lossRate: 0,
  jitterMs: 4,
  rttMs: 20,
  pathRttMs: 20,
  linkState: 'connected',
  activeSpeakerSiteId: null,
  audioBps: 32_000,
  videoBps: 1_000_000,
  recvBps: 900_000,
  seenUpstream: null,
  ...extra,
});
const none = (siteId: string, extra: Partial<MeetingSiteStats> = {}): MeetingSiteStats =>
  stats(siteId, {
    at: null,
    bitrateBps: null,
    lossRate: null,
    jitterMs: null,
    rttMs: null,
    linkState: null,
    audioBps: null,
    videoBps: null,
    recvBps: null,
    ...extra,
  });

t.test('link in words', async (t) => {
  t.equal(roomLink(stats('a'), 'meeting'), 'in-meeting');
  t.equal(roomLink(stats('a', { linkState: 'connecting' }), 'meeting'), 'connecting');
  t.equal(roomLink(stats('a', { linkState: 'failed' }), 'meeting'), 'link-failed');
  t.equal(roomLink(none('a'), 'meeting'), 'no-report', 'online box, edge silent');
  t.equal(
    roomLink(none('a', { seenUpstream: { state: 'connected', recvBps: 800_000 } }), 'offline'),
    'agent-down-media-up',
    'the agent died, the media still flows',
  );
  t.equal(
    roomLink(none('a', { seenUpstream: { state: 'connected', recvBps: 0 } }), 'offline'),
    'offline',
    'nothing arrives: offline',
  );
  t.equal(roomLink(none('a', { edgeId: null }), 'nobox'), 'no-box');
  t.equal(
    roomLink(none('a'), 'media-only'),
    'agent-down-media-up',
    'the dashboard already knows the agent is down and the edge up',
  );
});

t.test('quality from loss, jitter and round trip', async (t) => {
  t.equal(quality({ lossRate: 0.001, jitterMs: 5, rttMs: 40 }), 'good');
  t.equal(quality({ lossRate: 0.02, jitterMs: 5, rttMs: 40 }), 'fair');
  t.equal(quality({ lossRate: 0, jitterMs: 5, rttMs: 600 }), 'poor');
  t.equal(quality({ lossRate: null, jitterMs: null, rttMs: null }), null);
});

t.test("the console's rooms: chair, floor, mute-all, speaker, sending and receiving", async (t) => {
  const d: MeetingDetail = {
    id: 'm',
    title: 'x',
    state: 'live',
    chairSiteId: 'chair',
    siteIds: ['chair', 'a', 'b', 'c'],
    startsAt: '',
    endsAt: '',
    endedAt: null,
    mutedAll: true,
    floorSiteId: 'a',
    rollCallSiteId: null,
    cascade: { hostEdgeId: 'core', coreLinks: 2, links: 4, unreachableSiteIds: [], edges: [] },
    createdBy: null,
    requests: [],
    stats: [
      stats('chair', { activeSpeakerSiteId: 'a' }),
      stats('a', { activeSpeakerSiteId: 'a' }),
      stats('b', { audioBps: 0, activeSpeakerSiteId: 'chair' }),
      none('c', { seenUpstream: { state: 'connected', recvBps: 700_000 } }),
    ],
  };
  const states = new Map<string, SiteState>([
    ['chair', 'meeting'],
    ['a', 'meeting'],
    ['b', 'meeting'],
    ['c', 'offline'],
  ]);
  const rooms = new Map(roomStates(d, states).map((r) => [r.siteId, r]));
  t.match(rooms.get('chair'), { chair: true, mutedByChair: false, speaking: false, link: 'in-meeting' });
  t.match(
    rooms.get('a'),
    { floor: true, mutedByChair: false, speaking: true, sendingAudio: true },
    'the floor speaks with its microphone open',
  );
  t.match(rooms.get('b'), {
    mutedByChair: true,
    sendingAudio: false,
    sendingVideo: true,
    receiving: true,
    quality: 'good',
  });
  t.match(rooms.get('c'), { link: 'agent-down-media-up', sendingVideo: true, quality: null });
  t.equal(currentSpeaker(d.stats), 'a', 'most rooms agree');
});

t.test('roll call steps through the roster and stops at its ends', async (t) => {
  const order = ['a', 'b', 'c'];
  t.equal(nextInRollCall(order, null, 1), 'a');
  t.equal(nextInRollCall(order, 'a', 1), 'b');
  t.equal(nextInRollCall(order, 'c', 1), null);
  t.equal(nextInRollCall(order, 'a', -1), null);
  t.equal(nextInRollCall([], null, 1), null);
});
