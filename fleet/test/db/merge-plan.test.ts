import t from 'tap';
import { planMerge, type MergeFacts, type MergeMapping } from '../../src/db/import/merge-map.js';
import { MERGE_RULES, mergeRowMapper } from '../../src/db/import/merge-rows.js';
import { planImport, type RegistryFacts } from '../../src/db/import/plan.js';

// The merge's decisions without a database: where each source site goes,
// which conflicts stop it, how rows are changed on their way.

const facts = (over: Partial<MergeFacts['source']> = {}, target: Partial<MergeFacts['target']> = {}): MergeFacts => ({
  source: {
    sites: [
      { id: 'hg-ubnd', name: 'UBND', kind: 'peoples-committee', parentId: null },
      { id: 'hg-x', name: 'Xã X', kind: 'commune', parentId: 'hg-ubnd' },
      { id: 'hg-y', name: 'Xã Y', kind: 'commune', parentId: 'hg-ubnd' },
    ],
    devices: [
      { id: 'dev-1', siteId: 'hg-x', serial: 'SN-1', revoked: false },
      { id: 'dev-2', siteId: 'hg-y', serial: 'SN-OLD', revoked: true },
    ],
    preregisteredSerials: [],
    ...over,
  },
  target: {
    siteIds: ['tq-ubnd', 'tq-z'],
    kinds: ['peoples-committee', 'commune'],
    deviceIds: ['dev-9'],
    liveSerials: ['SN-OLD'],
    preregisteredSerials: [],
    ...target,
  },
});

t.test('kept, renamed and merged sites; a kept child of a merged parent goes under its new parent', async (t) => {
  const mapping: MergeMapping = {
    v: 1,
    sites: { 'hg-ubnd': { into: 'tq-ubnd' }, 'hg-x': 'keep', 'hg-y': { id: 'tq-y', name: 'Xã Y mới' } },
  };
  const d = planMerge(mapping, facts());
  t.same(d.problems, []);
  t.same(d.sites.get('hg-ubnd'), { action: 'into', id: 'tq-ubnd' });
  t.same(d.sites.get('hg-x'), { action: 'keep', id: 'hg-x', name: 'Xã X', parentId: 'tq-ubnd', renamed: false });
  t.same(d.sites.get('hg-y'), { action: 'keep', id: 'tq-y', name: 'Xã Y mới', parentId: 'tq-ubnd', renamed: true });
  t.same(d.summary, { kept: 1, renamed: 1, mergedInto: 1, devices: 1, revokedDevices: 1 });
  t.same(planMerge({ v: 1, unlisted: 'same-id', sites: {} }, facts()).problems.length, 3, 'same-id needs the ids');
});

t.test('every conflict is named, all at once', async (t) => {
  const mapping: MergeMapping = {
    v: 1,
    sites: { 'hg-ubnd': { into: 'tq-nowhere' }, 'hg-x': { id: 'tq-z' }, 'hg-ghost': 'keep' },
  };
  const d = planMerge(
    mapping,
    facts(
      {
        devices: [
          { id: 'dev-9', siteId: 'hg-x', serial: null, revoked: false },
          { id: 'dev-3', siteId: 'hg-x', serial: 'SN-LIVE', revoked: false },
        ],
        preregisteredSerials: ['SN-PRE'],
        sites: [
          { id: 'hg-ubnd', name: 'UBND', kind: 'peoples-committee', parentId: null },
          { id: 'hg-x', name: 'Xã X', kind: 'commune', parentId: 'hg-ubnd' },
          { id: 'hg-y', name: 'Xã Y', kind: 'district', parentId: 'hg-ubnd' },
        ],
      },
      { liveSerials: ['SN-LIVE'], preregisteredSerials: ['SN-PRE'] },
    ),
  );
  const all = d.problems.join('\n');
  t.match(all, /names site hg-ghost, which the second fleet does not have/);
  t.match(all, /hg-ubnd is merged into tq-nowhere, which this fleet does not have/);
  t.match(all, /hg-x is kept as tq-z, which this fleet already has/);
  t.match(all, /site hg-y \(Xã Y\) is mapped to nothing/);
  t.match(all, /device dev-9 exists in both fleets/);
  t.match(all, /duplicate serial SN-LIVE/);
  t.match(all, /serial SN-PRE is pre-registered in both fleets/);
  const kinds = planMerge({ v: 1, unlisted: 'keep', sites: {} }, facts({}, { siteIds: [] })).problems;
  t.same(kinds, [], 'a revoked box gives up its serial');
  const unknownKind = planMerge(
    { v: 1, unlisted: 'keep', sites: {} },
    facts({}, { siteIds: [], kinds: ['commune'] }),
  ).problems;
  t.match(unknownKind.join('\n'), /kind peoples-committee, which this fleet's hierarchy lacks/);
});

t.test('a table without a merge rule stops the merge; skipped tables say why', async (t) => {
  const table = (name: string) => ({ name, columns: ['id'], key: ['id'], references: [] });
  const source: RegistryFacts = {
    tables: [table('sites'), table('operators'), table('new_area_things')],
    counts: { sites: 3, operators: 2, new_area_things: 1 },
    migrations: [],
  };
  const target: RegistryFacts = { ...source, counts: { sites: 200 } };
  const plan = planImport('merge', source, target, MERGE_RULES);
  t.same(plan.problems, ['table new_area_things: no rule says how to merge it']);
  t.same(
    plan.steps.map((s) => s.table),
    ['sites'],
  );
  t.equal(plan.skipped[0]?.table, 'operators');
  t.match(plan.skipped[0]?.why, /no admin here/);
  t.match(planImport('move', source, target).problems.join(), /table sites in the target is not empty/);
});

t.test('rows on their way: sites mapped, ids moved past ours, open alerts that clash come in resolved', async (t) => {
  const d = planMerge(
    { v: 1, sites: { 'hg-ubnd': { into: 'tq-ubnd' }, 'hg-x': 'keep', 'hg-y': { id: 'tq-y' } } },
    facts(),
  );
  const map = mergeRowMapper({
    sites: d.sites,
    offsets: { alerts: 100, audit: 1000, selfTests: 5 },
    openAlertKeys: new Set(['site-outage:tq-ubnd']),
    releases: new Set(['1.0.0']),
    telemetrySince: '2026-12-01T00:00:00.000Z',
    now: '2026-12-03T08:00:00.000Z',
  });
  t.equal(map('sites', { id: 'hg-ubnd', name: 'UBND', parent_id: null }), null, 'merged away');
  t.match(map('sites', { id: 'hg-y', name: 'Xã Y', parent_id: 'hg-ubnd' }), { id: 'tq-y', parent_id: 'tq-ubnd' });
  t.match(map('devices', { id: 'dev-1', site_id: 'hg-ubnd', online: 1, enrol_token_id: 7 }), {
    site_id: 'tq-ubnd',
    online: 0,
    enrol_token_id: null,
  });
  t.equal(map('telemetry', { received_at: '2026-11-30T23:59:59.000Z' }), null, 'older than the window');
  t.ok(map('telemetry', { received_at: '2026-12-02T00:00:00.000Z' }));
  t.match(map('alerts', { id: 3, key: 'site-outage:tq-ubnd', state: 'open', site_id: 'hg-ubnd' }), {
    id: 103,
    state: 'resolved',
    site_id: 'tq-ubnd',
  });
  t.match(map('alerts', { id: 4, key: 'device-offline:dev-1', state: 'open' }), { id: 104, state: 'open' });
  t.match(map('ui_alert_acks', { alert_id: 4 }), { alert_id: 104 });
  t.match(map('audit_log', { id: 1 }), { id: 1001 });
  t.equal(map('ota_releases', { version: '1.0.0' }), null, 'a release we have stays ours');
  t.match(map('ota_releases', { version: '1.1.0', artifact_ready: 1 }), { artifact_ready: 0 });
});
