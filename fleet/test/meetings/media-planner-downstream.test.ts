// The fleet names, in each upstream's plan, the downstream edges that may link
// to it and the address each announced: the upstream edge refuses link offers
// from, or media to, any other address (appliance/src/media/link/admission.ts).
import t from 'tap';
import { mediaPlanCodec } from '@diemcau/shared';
import { planCascade } from '../../src/meetings/cascade.js';
import { linkTokens, mediaPlans, type PlannedMeeting } from '../../src/meetings/media-planner.js';
import { CORE, edgesFor, province } from './builders.js';

const p = province();
const edges = edgesFor(p.sites);
const a = p.communesOf.get('huyen-1')![0]!;
const b = p.communesOf.get('huyen-1')![1]!;

const meeting: PlannedMeeting = {
  meetingId: 'm1',
  title: 'm1',
  state: 'live',
  chairSiteId: 'so-1',
  floorSiteId: null,
  rollCallSiteId: null,
  mutedAll: false,
  plan: planCascade(p.index, edges, { id: 'm1', chairSiteId: 'so-1', siteIds: [a, b] }),
};
const urls: Record<string, string> = {
  [CORE]: 'https://core.example:7443',
  'e-huyen-1': 'https://10.1.0.2:7443',
  [`e-${a}`]: 'http://10.1.5.7:7443/',
  'e-so-1': 'http://[fd00::12]:7443',
  // e-{b} announced no address yet.
};

t.test('each upstream plan names its downstream edges at their announced addresses', async (t) => {
  const { plans } = mediaPlans([meeting], {
    signalUrlOf: (id) => urls[id] ?? null,
    tokenFor: linkTokens('test-secret-test-secret'),
  });
  const district = plans.get('e-huyen-1')!.meetings[0]!;
  t.same(
    district.downstream,
    [{ edgeId: `e-${a}`, addresses: ['10.1.5.7'], siteIds: [a] }],
    'the commune with an address is named; the one without is not',
  );
  const core = plans.get(CORE)!.meetings[0]!;
  // The district brings in both communes: b links through it once it has an address.
  t.same(
    core.downstream,
    [
      { edgeId: 'e-huyen-1', addresses: ['10.1.0.2'], siteIds: [a, b].sort() },
      { edgeId: 'e-so-1', addresses: ['fd00::12'], siteIds: ['so-1'] },
    ].sort((x, y) => (x.edgeId < y.edgeId ? -1 : 1)),
    'IPv6 addresses without their brackets',
  );
  t.same(plans.get(`e-${a}`)!.meetings[0]!.downstream, [], 'a leaf names nobody');
  for (const [edgeId, body] of plans)
    t.ok(mediaPlanCodec.check({ ...body, revision: 1 }).ok, `${edgeId} plan matches the schema`);
});
