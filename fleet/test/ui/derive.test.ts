// The dashboard's pure rules: site state, grouping, filtering, alert order and
// the folding of a district outage's device alerts into one row.
import t from 'tap';
import type { Alert, Device, Site } from '../../ui/api/types.js';
import {
  countStates,
  devicesUnder,
  fold,
  groupAlerts,
  groupSites,
  matchSite,
  NO_FILTER,
  outageSites,
  PROVINCE,
  siteState,
  sortAlerts,
} from '../../ui/state/derive.js';

const site = (id: string, kind: Site['kind'], parentId: string | null = null, name = id): Site => ({
  id,
  name,
  kind,
  parentId,
});
const SITES: Site[] = [
  site('pc', 'party-committee'),
  site('d1', 'district', null, 'Huyện Mù Cang Chải'),
  site('c1', 'commune', 'd1', 'Xã Khao Mang'),
  site('c2', 'commune', 'd1', 'Thị trấn Mù Cang Chải'),
  site('d2', 'district', null, 'Huyện Trạm Tấu'),
  site('c3', 'commune', 'd2', 'Xã Bản Mù'),
];
// Whole answers, as the server's schemas have them (api/http-types.ts).
const dev = (id: string, siteId: string, online = true, extra: Partial<Device> = {}): Device => ({
  id,
  siteId,
  online,
  lastSeenAt: null,
  serial: null,
  presenceAt: null,
  agentVersion: null,
  os: null,
  model: null,
  hardware: null,
  peripherals: null,
  enrolledAt: '2026-11-01T00:00:00.000Z',
  revokedAt: null,
  telemetry: null,
  ...extra,
});
const alert = (id: number, type: string, openedAt: string, extra: Partial<Alert> = {}): Alert => ({
  id,
  type,
  key: `${type}:${id}`,
  severity: 'warning',
  state: 'open',
  siteId: null,
  deviceId: null,
  message: null,
  details: null,
  openedAt,
  updatedAt: openedAt,
  resolvedAt: null,
  resolution: null,
  ...extra,
});

t.test(
  'two tiers: every site at the top, grouped by the relay groups the fleet sends, labels from the dataset',
  async (t) => {
    // The same places after 2025: no district level, the former centre kept as an ordinary site and the hub.
    const flat: Site[] = [
      site('pc', 'party-committee'),
      site('mcc', 'area-centre', null, 'Trụ sở khu vực Mù Cang Chải'),
      site('c1', 'commune', null, 'Xã Khao Mang'),
      site('c2', 'commune', null, 'Xã Mù Cang Chải'),
      site('c3', 'commune', null, 'Xã Bản Mù'),
    ];
    // Without relay groups nothing has sites below it: one flat group.
    t.same(
      groupSites(flat).map((g) => g.key),
      [PROVINCE],
    );
    const hierarchy = {
      dataset: 'two-tier',
      name: null,
      kinds: [
        { id: 'party-committee', label: { vi: 'Tỉnh ủy', en: 'Party committee' }, parents: [] },
        { id: 'commune', label: { vi: 'Xã', en: 'Commune' }, parents: [] },
        { id: 'area-centre', label: { vi: 'Trụ sở khu vực', en: 'Area centre' }, parents: [] },
      ],
      relayGroups: [
        { id: 'hub-mcc', name: 'Cụm Mù Cang Chải', hubSiteId: 'mcc', siteIds: ['mcc', 'c1', 'c2'] },
        { id: 'hub-tt', name: 'Cụm Trạm Tấu', hubSiteId: 'c3', siteIds: ['c3'] },
      ],
    };
    const groups = groupSites(flat, hierarchy);
    t.same(
      groups.map((g) => [g.key, g.name]),
      [
        [PROVINCE, null],
        ['hub-mcc', 'Cụm Mù Cang Chải'],
        ['hub-tt', 'Cụm Trạm Tấu'],
      ],
    );
    t.same(
      groups[1]!.sites.map((s) => s.id),
      ['mcc', 'c1', 'c2'],
      'the hub first, then by kind and name',
    );
    t.equal(groups[1]!.head?.id, 'mcc');
    t.equal(groups[1]!.actOn, null, 'no site has the group below it: no group-wide action on the hub alone');
    // In 2022 the district is the hub and its subtree is the group: actions act on it.
    t.equal(groupSites(SITES)[1]!.actOn?.id, 'd1');
  },
);

t.test('a site shows the worst of its boxes; no box is its own state', async (t) => {
  t.equal(siteState(undefined), 'nobox');
  t.equal(siteState([dev('a', 'c1')]), 'online');
  t.equal(siteState([dev('a', 'c1'), dev('b', 'c1', false)]), 'offline');
  t.equal(
    siteState([
      dev('a', 'c1', true, { peripherals: { camera: 'missing', microphone: 'ok', display: 'ok', gpio: 'ok' } }),
    ]),
    'degraded',
  );
  // A missing GPIO (a host without one) is not a degraded room.
  t.equal(
    siteState([
      dev('a', 'c1', true, { peripherals: { camera: 'ok', microphone: 'ok', display: 'ok', gpio: 'missing' } }),
    ]),
    'online',
  );
  t.equal(siteState([dev('a', 'c1', true, { inMeeting: true })]), 'meeting');
});

t.test('province bodies first, then each district with its communes', async (t) => {
  const groups = groupSites(SITES);
  t.same(
    groups.map((g) => g.key),
    [PROVINCE, 'd1', 'd2'],
  );
  t.same(
    groups[1]!.sites.map((s) => s.id),
    ['d1', 'c2', 'c1'],
    'district first, then communes by name',
  );
  const states = new Map([
    ['c1', 'offline' as const],
    ['c2', 'online' as const],
  ]);
  const c = countStates(groups[1]!.sites, states);
  t.same([c.total, c.offline, c.online, c.nobox], [3, 1, 1, 1]);
});

t.test('search ignores Vietnamese diacritics; filters combine', async (t) => {
  t.equal(fold('Mù Cang Chải Đồng'), 'mu cang chai dong');
  const c2 = SITES[3]!;
  t.ok(matchSite(c2, { ...NO_FILTER, query: 'mu cang' }, 'online', 'd1'));
  t.notOk(matchSite(c2, { ...NO_FILTER, query: 'tram tau' }, 'online', 'd1'));
  t.notOk(matchSite(c2, { ...NO_FILTER, group: 'd2' }, 'online', 'd1'));
  t.notOk(matchSite(c2, { ...NO_FILTER, states: ['offline'] }, 'online', 'd1'));
  t.ok(matchSite(c2, { ...NO_FILTER, kind: 'commune', states: ['online', 'offline'] }, 'online', 'd1'));
});

t.test('alerts: open before resolved, newest first', async (t) => {
  const sorted = sortAlerts([
    alert(1, 'device-offline', '2026-01-01T10:00:00Z', { resolvedAt: '2026-01-01T10:05:00Z' }),
    alert(2, 'device-offline', '2026-01-01T09:00:00Z'),
    alert(3, 'flapping', '2026-01-01T11:00:00Z'),
  ]);
  t.same(
    sorted.map((a) => a.id),
    [3, 2, 1],
  );
});

t.test("a district outage is one row holding its devices' alerts", async (t) => {
  const outage = alert(10, 'district-outage', '2026-01-01T10:00:05Z', {
    siteId: 'd1',
    key: 'district-outage:d1',
    details: { devices: ['x1', 'x2'], offline: ['x1', 'x2'] },
  });
  const rows = groupAlerts([
    // merged into the outage: resolved the moment it opened (a few ms earlier)
    alert(7, 'device-offline', '2026-01-01T10:00:01Z', {
      deviceId: 'x1',
      siteId: 'c1',
      resolvedAt: '2026-01-01T10:00:04.990Z',
    }),
    alert(8, 'device-offline', '2026-01-01T10:00:02Z', {
      deviceId: 'x2',
      siteId: 'c2',
      resolvedAt: '2026-01-01T10:00:04.991Z',
    }),
    outage,
    alert(9, 'device-offline', '2026-01-01T10:00:03Z', { deviceId: 'y1', siteId: 'c3' }),
    // the same device down last week: not part of this outage
    alert(2, 'device-offline', '2025-12-20T10:00:00Z', {
      deviceId: 'x1',
      siteId: 'c1',
      resolvedAt: '2025-12-20T11:00:00Z',
    }),
  ]);
  t.same(
    rows.map((r) => r.alert.id),
    [10, 9, 2],
  );
  t.same(rows[0]!.children.map((a) => a.id).sort(), [7, 8]);
  t.same(
    outageSites(
      outage,
      new Map([
        ['x1', 'c1'],
        ['x2', 'c2'],
      ]),
    ),
    ['c1', 'c2'],
  );
});

t.test('a subtree action reaches the boxes of the site and all below it', async (t) => {
  const devices = [dev('a', 'd1'), dev('b', 'c1'), dev('c', 'c2'), dev('d', 'c3'), dev('e', 'pc')];
  t.same(
    devicesUnder('d1', SITES, devices).map((d) => d.id),
    ['a', 'b', 'c'],
  );
  t.same(
    devicesUnder('c3', SITES, devices).map((d) => d.id),
    ['d'],
  );
});
