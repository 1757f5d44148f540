import t from 'tap';
import type { MediaStats } from '@diemcau/shared';
import { planCascade } from '../../src/meetings/cascade.js';
import { siteStats } from '../../src/meetings/stats.js';
import { edgesFor, province } from './builders.js';

const p = province();
const edges = edgesFor(p.sites);
const commune = p.communesOf.get('huyen-1')![0]!;
const plan = planCascade(p.index, edges, { id: 'm1', chairSiteId: 'ubnd', siteIds: [commune] });

const report = (
  edgeId: string,
  siteId: string,
  rttMs: number | null,
  extra: Partial<MediaStats['meetings'][number]> = {},
): MediaStats => ({
  v: 1,
  edgeId,
  at: '2026-11-23T08:00:00.000Z',
  revision: 1,
  meetings: [
    {
      meetingId: 'm1',
      role: 'leaf',
      localSiteId: siteId,
      local: [
        { kind: 'video', siteId, bitrateBps: 1_000_000, packets: 100, packetsLost: 1, lossRate: 0.01, jitterMs: 3 },
        { kind: 'audio', siteId, bitrateBps: 32_000, packets: 100, packetsLost: 0, lossRate: 0, jitterMs: 9 },
      ],
      links: [
        {
          peerEdgeId: 'x',
          direction: 'up',
          state: 'connected',
          sendBitrateBps: 1,
          recvBitrateBps: 1,
          sendStreams: 2,
          recvStreams: 2,
          packetsLost: 0,
          lossRate: 0.05,
          jitterMs: 1,
          rttMs,
        },
      ],
      activeSpeakerSiteId: null,
      ...extra,
    },
  ],
});

const at = (receivedAt: number, r: MediaStats) => ({ report: r, receivedAt });

t.test(
  'per-site figures: what the room sends, the worst loss and jitter, and the round trip to the host',
  async (t) => {
    const reports = new Map([
      [`e-${commune}`, at(1000, report(`e-${commune}`, commune, 20))],
      [
        'e-huyen-1',
        at(1000, {
          ...report('e-huyen-1', 'huyen-1', 35),
          meetings: [{ ...report('e-huyen-1', 'huyen-1', 35).meetings[0]!, localSiteId: null, local: [] }],
        }),
      ],
      ['e-ubnd', at(1000, report('e-ubnd', 'ubnd', 12))],
    ]);
    const stats = siteStats(plan, reports, 2000, 30_000);
    t.same(
      stats.map((s) => s.siteId),
      [commune, 'ubnd'].sort(),
    );
    const c = stats.find((s) => s.siteId === commune)!;
    t.match(c, {
      edgeId: `e-${commune}`,
      bitrateBps: 1_032_000,
      lossRate: 0.05,
      jitterMs: 9,
      rttMs: 20,
      pathRttMs: 55,
      linkState: 'connected',
    });
    t.match(
      stats.find((s) => s.siteId === 'ubnd'),
      { rttMs: 12, pathRttMs: 12 },
    );
  },
);

t.test('stale or missing reports give no numbers rather than old ones', async (t) => {
  const reports = new Map([
    [`e-${commune}`, at(100_000, report(`e-${commune}`, commune, 20))],
    ['e-huyen-1', at(1000, report('e-huyen-1', 'huyen-1', 35))],
  ]);
  const stats = siteStats(plan, reports, 100_500, 30_000);
  t.match(
    stats.find((s) => s.siteId === commune),
    { rttMs: 20, pathRttMs: null },
    "the district's hop is stale",
  );
  t.match(
    stats.find((s) => s.siteId === 'ubnd'),
    { edgeId: 'e-ubnd', bitrateBps: null, rttMs: null },
  );
  const other = siteStats(
    plan,
    new Map([[`e-${commune}`, at(100_000, { ...report(`e-${commune}`, commune, 20), meetings: [] })]]),
    100_500,
    30_000,
  );
  t.match(
    other.find((s) => s.siteId === commune),
    { bitrateBps: null },
    'a report about other meetings says nothing about this one',
  );
});

t.test('the host site is zero hops from the host', async (t) => {
  const d = planCascade(p.index, edges, { id: 'm1', chairSiteId: 'huyen-2', siteIds: [] });
  const stats = siteStats(d, new Map([['e-huyen-2', at(0, report('e-huyen-2', 'huyen-2', null))]]), 0, 30_000);
  t.match(stats[0], { siteId: 'huyen-2', pathRttMs: 0, rttMs: null });
});

t.test('a room whose box sends no report of its own: its upstream still says whether its media arrives', async (t) => {
  // The commune's agent is dead (no report of its own); its district relays what still comes up.
  const district = report('e-huyen-1', 'huyen-1', 35);
  const relay = {
    ...district,
    meetings: [
      {
        ...district.meetings[0]!,
        localSiteId: null,
        local: [],
        links: [
          ...district.meetings[0]!.links,
          {
            peerEdgeId: `e-${commune}`,
            direction: 'down' as const,
            state: 'connected' as const,
            sendBitrateBps: 500_000,
            recvBitrateBps: 820_000,
            sendStreams: 2,
            recvStreams: 2,
            packetsLost: 0,
            lossRate: 0,
            jitterMs: 2,
            rttMs: 18,
          },
        ],
      },
    ],
  };
  const reports = new Map([
    ['e-huyen-1', at(1000, relay)],
    ['e-ubnd', at(1000, report('e-ubnd', 'ubnd', 12))],
  ]);
  const c = siteStats(plan, reports, 2000, 30_000).find((s) => s.siteId === commune)!;
  t.match(
    c,
    { at: null, bitrateBps: null, seenUpstream: { state: 'connected', recvBps: 820_000 } },
    'no figures of its own, but its media flows',
  );
  const ubnd = siteStats(plan, reports, 2000, 30_000).find((s) => s.siteId === 'ubnd')!;
  t.match(
    ubnd,
    { audioBps: 32_000, videoBps: 1_000_000, recvBps: 1 },
    'a room with its own report: what it sends by kind and what it receives',
  );
});
