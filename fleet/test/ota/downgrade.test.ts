// No downgrade through the fleet: a validly signed release older than the
// newest one accepted is refused at upload unless its signed manifest is a
// rollback; a version is never registered twice with other contents; and a
// rollout never tells a box to install a release older than the one it runs
// (those boxes are skipped with the reason), unless the release is a signed
// rollback from exactly that version. Real fleet (API, broker, SQLite) and
// simulated agents that would install whatever they are told.
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { signManifest } from '@diemcau/shared';
import { waitFor } from '../helpers/fleet.js';
import { makeManifest, publishRelease, simAgent, startOtaFleet, type SimAgent } from './harness.js';

const f = await startOtaFleet(t);
const sign = (m: ReturnType<typeof makeManifest>) => signManifest(m, f.keys.keyId, f.keys.privateKeyPem);
const register = (body: unknown) =>
  f.api<{ code: string; message: string; version: string }>('POST', '/api/v1/releases', body);

await t.test('upload: an older release is refused unless it is a signed rollback', async (t) => {
  await publishRelease(f, '1.1.0');
  await publishRelease(f, '1.3.0');
  const old = await register(sign(makeManifest('1.2.0', randomBytes(1024))));
  t.equal(old.status, 409, 'older than 1.3.0: refused');
  t.equal(old.body.code, 'FLEET_ERR_RELEASE_DOWNGRADE');
  t.match(old.body.message, /1\.2\.0 is older than 1\.3\.0/, 'says which release it is older than');
  t.equal((await f.api('GET', '/api/v1/releases/1.2.0')).status, 404, 'not stored');
  t.equal(
    (await register(sign(makeManifest('1.9.0-rc.2', randomBytes(1024))))).status,
    201,
    'a newer pre-release is an upgrade',
  );
  const rc = await register(sign(makeManifest('1.9.0-rc.10', randomBytes(1024))));
  t.equal(rc.status, 201, 'rc.10 comes after rc.2 (numeric fields, not text)');

  // The flag added to the payload after signing: the signature no longer matches.
  const signed = sign(makeManifest('1.2.0', randomBytes(1024)));
  const payload = JSON.stringify({ ...(JSON.parse(signed.payload) as object), allowDowngradeFrom: ['1.3.0'] });
  const forged = await register({ ...signed, payload });
  t.equal(forged.status, 400, 'flag added without signing again: refused');
  t.equal(forged.body.code, 'FLEET_ERR_RELEASE_INVALID');
  const outside = await register({ ...signed, allowDowngradeFrom: ['1.3.0'] });
  t.equal(outside.status, 409, 'the flag outside the signed payload counts for nothing');

  const rollback = await publishRelease(f, '1.1.1', randomBytes(32 * 1024), {
    allowDowngradeFrom: ['1.3.0'],
    notes: 'emergency rollback of 1.3.0',
  });
  t.same(rollback.allowDowngradeFrom, ['1.3.0'], 'a signed rollback is accepted although older than 1.3.0');
  const listed = await f.api<{ manifest: { allowDowngradeFrom?: string[] } }>('GET', '/api/v1/releases/1.1.1');
  t.same(listed.body.manifest.allowDowngradeFrom, ['1.3.0'], 'and shown as one');
});

await t.test('upload: one version, one content', async (t) => {
  const bytes = randomBytes(1024);
  const m = makeManifest('2.0.0', bytes);
  t.equal((await register(sign(m))).status, 201, 'registered (artifact not uploaded yet)');
  t.equal((await register(sign(m))).status, 201, 'the identical manifest again is fine');
  const other = await register(sign({ ...m, sha256: 'b'.repeat(64) }));
  t.equal(other.status, 409, 'the same version with other contents, even before its artifact: refused');
  t.equal(other.body.code, 'FLEET_ERR_CONFLICT');
  const stored = await f.api<{ manifest: { sha256: string } }>('GET', '/api/v1/releases/2.0.0');
  t.equal(stored.body.manifest.sha256, m.sha256, 'the first contents stay');
});

await t.test('rollout: boxes newer than the release are skipped with the reason', async (t) => {
  const all = f.fleet.sites.all();
  const communes = all.filter((s) => s.parentId === 'yb-nghia-lo').map((s) => s.id);
  const at = async (siteId: string, version: string): Promise<SimAgent> =>
    simAgent(t, f, await f.enrol(siteId), () => 'ok', version);
  const newer = await at(communes[0]!, '1.3.0');
  const older = await at(communes[1]!, '1.1.0');
  const middle = await at(communes[2]!, '1.1.1');
  const agents = [newer, older, middle];
  await waitFor(
    async () => {
      const rows = await Promise.all(agents.map((a) => f.fleet.repos.devices.get(a.deviceId)));
      return agents.every((a, i) => rows[i]?.online && rows[i]?.agentVersion === a.version);
    },
    10_000,
    'boxes online with their versions',
  );
  const spec = (release: string, siteIds: string[]) => ({
    release,
    rings: [{ name: 'all', select: { kind: 'sites', siteIds }, maxInFlight: 5 }],
    abort: { maxFailureRate: 0.5, minDevices: 5 },
    silentTimeoutMin: 30,
    windows: [],
    utcOffsetMin: 420,
    meetingLeadMin: 0,
  });
  interface View {
    id: string;
    state: string;
    devices: { deviceId: string; state: string; reason: string | null }[];
  }
  const finish = async (id: string) =>
    waitFor(
      async () => {
        await f.ota.rollouts.tick();
        const v = (await f.api<View>('GET', `/api/v1/rollouts/${id}?devices=true`)).body;
        return v.state === 'completed' ? v : undefined;
      },
      20_000,
      'rollout completed',
    );

  // 1.1.1 (a signed rollback from 1.3.0 only) over all three: 1.3.0 takes it, 1.1.0 upgrades, nobody is pushed down otherwise.
  const r1 = await f.api<View>('POST', '/api/v1/rollouts', spec('1.1.1', communes.slice(0, 3)));
  t.equal(r1.status, 201);
  const v1 = await finish(r1.body.id);
  const state = (v: View, a: SimAgent) => v.devices.find((d) => d.deviceId === a.deviceId)!;
  t.equal(state(v1, newer).state, 'succeeded', 'the rollback reaches the box on the version it names');
  t.equal(state(v1, older).state, 'succeeded', 'an older box upgrades');
  t.equal(newer.version, '1.1.1');
  t.equal(older.version, '1.1.1');
  await waitFor(
    async () =>
      (await Promise.all(agents.map((a) => f.fleet.repos.devices.get(a.deviceId)))).every(
        (d) => d?.agentVersion === '1.1.1',
      ),
    10_000,
    'the new version announced',
  );

  // 1.1.0 over boxes now on 1.1.1: older than every one of them, and no rollback.
  const r2 = await f.api<{ code: string; message: string }>(
    'POST',
    '/api/v1/rollouts',
    spec('1.1.0', communes.slice(0, 3)),
  );
  t.equal(r2.status, 409, 'a rollout that could only push boxes down is refused');
  t.equal(r2.body.code, 'FLEET_ERR_RELEASE_DOWNGRADE');
  t.match(r2.body.message, /older than 1\.1\.1/);

  // 1.1.0 where one box still runs an older version: that one updates, the others are skipped, with the reason.
  const oldest = await at(communes[3]!, '1.0.0');
  await waitFor(
    async () => (await f.fleet.repos.devices.get(oldest.deviceId))?.agentVersion === '1.0.0',
    10_000,
    'fourth box',
  );
  const r3 = await f.api<View>('POST', '/api/v1/rollouts', spec('1.1.0', communes.slice(0, 4)));
  t.equal(r3.status, 201);
  const v3 = await finish(r3.body.id);
  for (const a of [newer, older, middle]) {
    t.equal(state(v3, a).state, 'skipped', `${a.version} box skipped`);
    t.match(state(v3, a).reason, /1\.1\.0 is older than 1\.1\.1 and is not a signed rollback/);
    t.notOk(
      a.desired.some((d) => d.version === '1.1.0'),
      'and never told of the older release',
    );
  }
  t.equal(state(v3, oldest).state, 'succeeded', 'the box on 1.0.0 updates');
  const rings = (
    await f.api<{ rings: { skipped: number; succeeded: number }[] }>('GET', `/api/v1/rollouts/${r3.body.id}`)
  ).body.rings;
  t.match(rings[0], { skipped: 3, succeeded: 1 }, 'ring progress counts the skipped boxes');
  t.equal(middle.version, '1.1.1', 'no box went down');
});

await t.test(
  'rollout: a box that comes online on a newer version after the rollout began is skipped then',
  async (t) => {
    const commune = f.fleet.sites.all().filter((s) => s.parentId === 'yb-tram-tau')[0]!.id;
    const creds = await f.enrol(commune); // enrolled as 0.1.0, offline for now
    const created = await f.api<{ id: string }>('POST', '/api/v1/rollouts', {
      release: '1.1.0',
      rings: [{ name: 'late', select: { kind: 'sites', siteIds: [commune] }, maxInFlight: 1 }],
      abort: { maxFailureRate: 0.5, minDevices: 5 },
      silentTimeoutMin: 30,
      windows: [],
      utcOffsetMin: 420,
      meetingLeadMin: 0,
    });
    t.equal(created.status, 201, 'the box was older when the rollout began');
    const late = await simAgent(t, f, creds, () => 'ok', '1.3.0');
    await waitFor(
      async () => (await f.fleet.repos.devices.get(late.deviceId))?.agentVersion === '1.3.0',
      10_000,
      'late box online on 1.3.0',
    );
    const d = await waitFor(
      async () => {
        await f.ota.rollouts.tick();
        const v = (
          await f.api<{ state: string; devices: { state: string; reason: string }[] }>(
            'GET',
            `/api/v1/rollouts/${created.body.id}?devices=true`,
          )
        ).body;
        return v.state === 'completed' ? v.devices[0] : undefined;
      },
      10_000,
      'rollout completed',
    );
    t.match(d, { state: 'skipped', reason: /older than 1\.3\.0/ }, 'checked again before dispatch');
    t.same(late.desired, [], 'never told of 1.1.0');
  },
);

await t.test("a box's own refusal counts as skipped, not as a failed update", async (t) => {
  // The fleet's idea of the box's version is stale (its last birth said 1.0.0); the box knows better.
  const commune = f.fleet.sites.all().filter((s) => s.parentId === 'yb-tram-tau')[1]!.id;
  const box = await simAgent(t, f, await f.enrol(commune), () => 'refuse-downgrade', '1.0.0');
  await waitFor(
    async () => (await f.fleet.repos.devices.get(box.deviceId))?.agentVersion === '1.0.0',
    10_000,
    'box online',
  );
  box.version = '1.3.0'; // updated behind the fleet's back, not announced yet
  const created = await f.api<{ id: string }>('POST', '/api/v1/rollouts', {
    release: '1.1.0',
    rings: [{ name: 'one', select: { kind: 'sites', siteIds: [commune] }, maxInFlight: 1 }],
    // One failure in one device would abort: a refusal must not count as one.
    abort: { maxFailureRate: 0, minDevices: 1 },
    silentTimeoutMin: 30,
    windows: [],
    utcOffsetMin: 420,
    meetingLeadMin: 0,
  });
  t.equal(created.status, 201);
  const v = await waitFor(
    async () => {
      await f.ota.rollouts.tick();
      const r = (
        await f.api<{ state: string; devices: { state: string; reason: string }[] }>(
          'GET',
          `/api/v1/rollouts/${created.body.id}?devices=true`,
        )
      ).body;
      return r.state !== 'running' ? r : undefined;
    },
    10_000,
    'rollout settled',
  );
  t.equal(v.state, 'completed', 'not aborted');
  t.match(
    v.devices[0],
    { state: 'skipped', reason: /APPL_ERR_OTA_DOWNGRADE.*older than 1\.3\.0/ },
    "the box's reason kept",
  );
});

await t.test('a release that a signed rollback withdrew cannot be rolled out again', async (t) => {
  const r = await f.api<{ code: string; message: string }>('POST', '/api/v1/rollouts', {
    release: '1.3.0',
    rings: [{ name: 'all', select: { kind: 'rest' }, maxInFlight: 5 }],
    abort: { maxFailureRate: 0.5, minDevices: 5 },
    silentTimeoutMin: 30,
    windows: [],
    utcOffsetMin: 420,
    meetingLeadMin: 0,
  });
  t.equal(r.status, 409);
  t.equal(r.body.code, 'FLEET_ERR_CONFLICT');
  t.match(r.body.message, /1\.3\.0 was withdrawn by the signed rollback 1\.1\.1/);
});
