import t from 'tap';
import { indexSites, type Site } from '@diemcau/shared';
import type { DeviceRef } from '../../src/devices/device-ref.js';
import {
  expandSubtree,
  operatorCovers,
  planIssue,
  type IssueRequest,
  type Operator,
} from '../../src/commands/planner.js';

const site = (id: string, kind: Site['kind'], parentId: string | null = null): Site => ({
  id,
  name: id,
  kind,
  parentId,
});
const sites = [
  site('ubnd-tinh', 'peoples-committee'),
  site('h-lucyen', 'district'),
  site('x-an-phu', 'commune', 'h-lucyen'),
  site('x-minh-xuan', 'commune', 'h-lucyen'),
  site('h-vanyen', 'district'),
  site('x-dong-an', 'commune', 'h-vanyen'),
];
const index = indexSites(sites);
const devices: DeviceRef[] = [
  { deviceId: 'd-tinh', siteId: 'ubnd-tinh' },
  { deviceId: 'd-lucyen', siteId: 'h-lucyen' },
  { deviceId: 'd-anphu', siteId: 'x-an-phu' },
  { deviceId: 'd-minhxuan', siteId: 'x-minh-xuan' },
  { deviceId: 'd-minhxuan-2', siteId: 'x-minh-xuan' },
  { deviceId: 'd-dongan', siteId: 'x-dong-an' },
];
const admin: Operator = { id: 'admin', role: 'admin', area: null };
const lucYen: Operator = { id: 'op-ly', role: 'district-operator', area: { kind: 'subtree', siteId: 'h-lucyen' } };
const viewer: Operator = { id: 'v', role: 'viewer', area: null };
const req = (over: Partial<IssueRequest> = {}): IssueRequest => ({
  type: 'reboot',
  params: {},
  ttlSec: 600,
  force: null,
  ...over,
});

t.test('a district subtree is the district box and every commune box under it', async (t) => {
  t.same(
    expandSubtree(index, devices, 'h-lucyen').map((d) => d.deviceId),
    ['d-lucyen', 'd-anphu', 'd-minhxuan', 'd-minhxuan-2'],
  );
  t.same(
    expandSubtree(index, devices, 'x-dong-an').map((d) => d.deviceId),
    ['d-dongan'],
  );
  t.same(expandSubtree(index, devices, 'nowhere'), []);
});

t.test('roles: admin everywhere, district operator in its subtree, viewer sends nothing', async (t) => {
  t.ok(operatorCovers(admin, index, 'x-dong-an'));
  t.ok(operatorCovers(lucYen, index, 'x-an-phu'));
  t.notOk(operatorCovers(lucYen, index, 'x-dong-an'));
  t.notOk(operatorCovers(lucYen, index, 'ubnd-tinh'));
  const v = planIssue({
    operator: viewer,
    index,
    targets: devices.slice(0, 1),
    request: req({ type: 'identify' }),
    liveSites: new Set(),
  });
  t.match(v, { ok: false, code: 'FLEET_ERR_FORBIDDEN' });
  const out = planIssue({
    operator: lucYen,
    index,
    targets: expandSubtree(index, devices, 'h-vanyen'),
    request: req({ type: 'identify' }),
    liveSites: new Set(),
  });
  t.match(out, { ok: false, code: 'FLEET_ERR_FORBIDDEN', sites: ['x-dong-an'] });
  const root = planIssue({
    operator: lucYen,
    index,
    targets: [],
    request: req({ type: 'identify' }),
    liveSites: new Set(),
    rootSiteId: 'h-vanyen',
  });
  t.match(root, { ok: false, code: 'FLEET_ERR_FORBIDDEN' }, 'another district is refused even with no device in it');
  const own = planIssue({
    operator: lucYen,
    index,
    targets: expandSubtree(index, devices, 'h-lucyen'),
    request: req({ type: 'identify' }),
    liveSites: new Set(),
  });
  t.match(own, { ok: true });
  if (own.ok) t.equal(own.drafts.length, 4);
});

t.test('reboot and restart-media are refused at a site in a live meeting unless forced', async (t) => {
  const targets = expandSubtree(index, devices, 'h-lucyen');
  const live = new Set(['x-minh-xuan']);
  for (const type of ['reboot', 'restart-media'] as const) {
    const refused = planIssue({ operator: admin, index, targets, request: req({ type }), liveSites: live });
    t.match(refused, { ok: false, code: 'FLEET_ERR_SITE_IN_MEETING', sites: ['x-minh-xuan'] });
  }
  const forced = planIssue({
    operator: admin,
    index,
    targets,
    request: req({ force: { reason: 'camera frozen, chair asked' } }),
    liveSites: live,
  });
  t.match(forced, { ok: true, forcedSites: ['x-minh-xuan'] });
  if (forced.ok) t.equal(forced.drafts.length, 4, 'forced: the whole subtree');
  const harmless = planIssue({ operator: admin, index, targets, request: req({ type: 'identify' }), liveSites: live });
  t.match(harmless, { ok: true, forcedSites: [] }, 'identify does not disturb a meeting');
  const elsewhere = planIssue({ operator: admin, index, targets, request: req(), liveSites: new Set(['x-dong-an']) });
  t.match(elsewhere, { ok: true }, 'a meeting outside the targets does not block');
});

t.test('a subtree with no device is a clear refusal', async (t) => {
  const out = planIssue({ operator: admin, index, targets: [], request: req(), liveSites: new Set() });
  t.match(out, { ok: false, code: 'FLEET_ERR_NO_TARGETS' });
});
