// The edge's pure decisions: room steps for a new plan, which plans to run,
// and what the chair's controls mean for this edge's microphone.
import t from 'tap';
import type { MediaMeeting, MediaPlan } from '@diemcau/shared';
import {
  acceptPlan,
  expectedLinkConsumers,
  micOpen,
  participantMicOpen,
  planRooms,
} from '../../src/media/room-planner.js';

const TOKEN = 'x'.repeat(24);
const meeting = (id: string, over: Partial<MediaMeeting> = {}): MediaMeeting => ({
  meetingId: id,
  title: id,
  role: 'leaf',
  upstream: { edgeId: 'd1', signalUrl: 'http://d1.example:7443', linkToken: TOKEN },
  acceptToken: null,
  localSiteId: 'site-a',
  chairSiteId: 'site-c',
  floorSiteId: null,
  rollCallSiteId: null,
  mutedAll: false,
  state: 'live',
  ...over,
});
const plan = (meetings: MediaMeeting[], revision = 1): MediaPlan => ({ v: 1, revision, edgeId: 'e1', meetings });
const open = (...ms: MediaMeeting[]): Map<string, MediaMeeting> => new Map(ms.map((m) => [m.meetingId, m]));

t.test('planRooms', async (t) => {
  t.same(
    planRooms(open(), plan([meeting('a')])),
    [{ action: 'open', meeting: meeting('a') }],
    'opens a new live meeting',
  );
  t.same(planRooms(open(), plan([meeting('a', { state: 'scheduled' })])), [], 'a scheduled meeting opens nothing yet');
  t.same(
    planRooms(open(meeting('a')), plan([])),
    [{ action: 'close', meetingId: 'a', reason: 'ended' }],
    'closes a meeting left out',
  );
  t.same(
    planRooms(open(meeting('a')), plan([meeting('a', { state: 'ended' })])),
    [{ action: 'close', meetingId: 'a', reason: 'ended' }],
    'closes an ended one',
  );
  t.same(planRooms(open(meeting('a')), plan([meeting('a')])), [], 'nothing to do for the same plan');
  const muted = meeting('a', { mutedAll: true });
  t.same(
    planRooms(open(meeting('a')), plan([muted])),
    [{ action: 'update', meeting: muted }],
    'chair controls update in place',
  );
  const moved = meeting('a', { upstream: { edgeId: 'core', signalUrl: 'http://core.example:7443', linkToken: TOKEN } });
  t.same(
    planRooms(open(meeting('a')), plan([moved])),
    [
      { action: 'close', meetingId: 'a', reason: 'replanned' },
      { action: 'open', meeting: moved },
    ],
    'a new upstream closes the room first, then opens it again',
  );
  const steps = planRooms(
    open(meeting('a'), meeting('b')),
    plan([meeting('b', { localSiteId: 'site-z' }), meeting('c')]),
  );
  t.same(
    steps.map((s) => s.action),
    ['close', 'close', 'open', 'open'],
    'all closes come before opens',
  );
});

t.test('acceptPlan', async (t) => {
  t.same(acceptPlan('e1', null, plan([meeting('a')])), { ok: true });
  t.equal(acceptPlan('e2', null, plan([])).ok, false, 'a plan for another edge is refused');
  t.equal(acceptPlan('e1', 5, plan([], 4)).ok, false, 'an older revision is refused');
  t.equal(acceptPlan('e1', 5, plan([], 5)).ok, true, 'the same revision is re-applied (retained message on reconnect)');
  t.equal(acceptPlan('e1', null, plan([meeting('a'), meeting('a')])).ok, false, 'a meeting listed twice is refused');
  t.equal(
    acceptPlan('e1', null, plan([meeting('a', { role: 'host' })])).ok,
    false,
    'a host with an upstream is refused',
  );
  t.equal(
    acceptPlan('e1', null, plan([meeting('a', { upstream: null })])).ok,
    false,
    'a leaf without an upstream is refused',
  );
});

t.test('micOpen follows the chair', async (t) => {
  t.equal(micOpen(meeting('a')), true, 'open by default');
  t.equal(micOpen(meeting('a', { mutedAll: true })), false, 'mute all closes it');
  t.equal(micOpen(meeting('a', { mutedAll: true, localSiteId: 'site-c' })), true, "but not the chair's");
  t.equal(
    micOpen(meeting('a', { floorSiteId: 'site-a', mutedAll: true })),
    true,
    'the floor speaks even after mute all',
  );
  t.equal(micOpen(meeting('a', { floorSiteId: 'site-b' })), false, 'others wait while someone has the floor');
  t.equal(micOpen(meeting('a', { floorSiteId: 'site-b', localSiteId: 'site-c' })), true, 'the chair always speaks');
  t.equal(micOpen(meeting('a', { localSiteId: null })), false, 'an edge without a room has no microphone');
});

t.test('expectedLinkConsumers counts what flows, not the roster', async (t) => {
  const communes = Array.from({ length: 25 }, (_, i) => `c${i}`);
  const district = meeting('m', {
    role: 'relay',
    localSiteId: 'd',
    downstream: communes.map((c) => ({ edgeId: c, addresses: ['127.0.0.1'], siteIds: [c] })),
  });
  // Up: all 26 microphones of this side (a roll call) and both pictures of at most 5 featured and 2 warm cameras.
  t.equal(expectedLinkConsumers(district, null), 26 + 7 * 2);
  // Down to one commune: the featured and warm sites' microphone and two pictures, whatever the roster's size.
  t.equal(expectedLinkConsumers(district, 'c0'), 7 * 3);
  const host = meeting('m', {
    role: 'host',
    upstream: null,
    localSiteId: null,
    downstream: [
      { edgeId: 'a', addresses: ['127.0.0.1'], siteIds: ['a'] },
      { edgeId: 'b', addresses: ['127.0.0.1'], siteIds: ['b', 'b1'] },
    ],
  });
  // The host knows every site: down to a, only b's two sites can be featured.
  t.equal(expectedLinkConsumers(host, 'a'), 2 * 3);
  const leaf = meeting('m');
  t.equal(expectedLinkConsumers(leaf, null), 1 + 2, 'a leaf sends its microphone and two pictures up');
});

t.test("participantMicOpen: a browser follows the chair's controls like a room", async (t) => {
  const guest = 'site-a.web1';
  t.equal(participantMicOpen(meeting('a'), guest), true, 'open by default');
  t.equal(participantMicOpen(meeting('a', { mutedAll: true }), guest), false, 'mute all closes it');
  t.equal(participantMicOpen(meeting('a', { mutedAll: true }), 'site-c.web2'), true, "but not one at the chair's site");
  t.equal(
    participantMicOpen(meeting('a', { floorSiteId: 'site-b' }), guest),
    false,
    'the floor given elsewhere closes it',
  );
  t.equal(
    participantMicOpen(meeting('a', { floorSiteId: 'site-a' }), guest),
    false,
    "the floor given to its site is the room's box, not the laptop",
  );
  t.equal(
    participantMicOpen(meeting('a', { floorSiteId: 'site-a', floorParticipantId: guest, mutedAll: true }), guest),
    true,
    'the floor given to the participant opens it, even after mute all',
  );
  t.equal(
    participantMicOpen(meeting('a', { floorSiteId: 'site-a', floorParticipantId: 'site-a.web2' }), guest),
    false,
    'and closes the others',
  );
});
