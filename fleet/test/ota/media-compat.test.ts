// The media-link check at rollout creation: edges on mediasoup 3.8 (pipes
// speak AES_CM_128_HMAC_SHA1_80) and on 3.19 (AEAD_AES_256_GCM) cannot link,
// so a rollout whose rings would split a scheduled meeting across the two
// gets a warning naming the meeting and the ring. A table for the pure rule,
// then a real fleet (API, broker, SQLite) with boxes on the old release.
import t from 'tap';
import { mixedMeetingWarnings, type CompatDevice } from '../../src/ota/media-compat.js';
import { waitFor } from '../helpers/fleet.js';
import { publishRelease, simAgent, startOtaFleet } from './harness.js';

const gcm = { mediaLink: { srtpSuites: ['AEAD_AES_256_GCM'] } };
const legacy = {}; // a release from before the field: mediasoup 3.8
const release = { version: '2.0.0', ...gcm };
const dev = (siteId: string, ring: number, current: string | null = '1.0.0', state = 'pending'): CompatDevice => ({
  siteId,
  ring,
  current,
  state,
});
const manifests = new Map([
  ['1.0.0', legacy],
  ['1.5.0', gcm],
]);

t.test('which meetings a rollout would split', async (t) => {
  const meeting = { id: 'm1', title: 'Giao ban', siteIds: ['a', 'b', 'c'] };
  const run = (devices: CompatDevice[], extra: Partial<Parameters<typeof mixedMeetingWarnings>[0]> = {}) =>
    mixedMeetingWarnings({
      release,
      ringNames: ['pilot', 'rest'],
      devices,
      manifests,
      sitesCurrent: new Map(),
      meetings: [meeting],
      ...extra,
    });
  t.same(run([dev('a', 0), dev('b', 0), dev('c', 0)]), [], 'the whole meeting in one ring: no split');
  t.match(
    run([dev('a', 0), dev('b', 1), dev('c', 1)]),
    [/meeting "Giao ban" \(m1\): after ring pilot, 1 of its sites run 2\.0\.0 and 2 still run/],
    'split across rings',
  );
  t.same(
    run([dev('a', 0, '1.5.0'), dev('b', 1, '1.5.0'), dev('c', 1, '1.5.0')]),
    [],
    'from a release whose pipes already speak GCM: no warning',
  );
  t.same(
    run([dev('a', 0), dev('b', 1), dev('c', 1)], { release: { version: '1.1.0' } }),
    [],
    'a release without the new worker links with the old ones',
  );
  t.match(
    run([dev('a', 0), dev('b', 0)], { sitesCurrent: new Map([['c', '1.0.0']]) }),
    [/after ring pilot, 2 of its sites run 2\.0\.0 and 1 still run.*\(c\)/],
    'a site outside the rollout stays old',
  );
  t.match(run([dev('a', 0), dev('b', 0), dev('c', 0, '1.0.0', 'skipped')]), [/\(c\)/], 'a skipped box stays old');
  t.same(run([dev('a', 0), dev('b', 1), dev('c', 1)], { meetings: [] }), [], 'no meeting ahead: nothing to warn about');
});

const f = await startOtaFleet(t);

await t.test('rollout creation warns about a meeting its rings would split', async (t) => {
  await publishRelease(f, '1.0.0');
  const all = f.fleet.sites.all();
  const nl = all.filter((s) => s.parentId === 'yb-nghia-lo').map((s) => s.id);
  const [a, b] = [nl[0]!, nl[1]!];
  const agents = [
    await simAgent(t, f, await f.enrol(a), () => 'ok', '1.0.0'),
    await simAgent(t, f, await f.enrol(b), () => 'ok', '1.0.0'),
  ];
  await waitFor(
    async () =>
      (await Promise.all(agents.map((x) => f.fleet.repos.devices.get(x.deviceId)))).every(
        (d) => d?.agentVersion === '1.0.0',
      ),
    10_000,
    'boxes on 1.0.0',
  );
  await publishRelease(f, '2.0.0', undefined, gcm);
  const meeting = await f.api<{ id: string }>('POST', '/api/v1/meetings', {
    title: 'Giao ban tuần',
    chairSiteId: a,
    siteIds: [a, b],
  });
  t.equal(meeting.status, 201);
  const spec = (rings: unknown[]) => ({
    release: '2.0.0',
    rings,
    abort: { maxFailureRate: 0.5, minDevices: 5 },
    silentTimeoutMin: 30,
    windows: [],
    utcOffsetMin: 420,
    meetingLeadMin: 0,
  });
  const split = await f.api<{ id: string; warnings?: string[] }>(
    'POST',
    '/api/v1/rollouts',
    spec([
      { name: 'pilot', select: { kind: 'sites', siteIds: [a] }, maxInFlight: 1 },
      { name: 'rest', select: { kind: 'sites', siteIds: [b] }, maxInFlight: 1 },
    ]),
  );
  t.equal(split.status, 201, 'created all the same: the operator decides');
  t.match(split.body.warnings, [
    new RegExp(
      `meeting "Giao ban tuần" \\(${meeting.body.id}\\): after ring pilot, 1 of its sites run 2\\.0\\.0 and 1 still run`,
    ),
  ]);
  t.equal(
    (await f.api('POST', `/api/v1/rollouts/${split.body.id}/abort`, { reason: 'order the rings by meeting' })).status,
    200,
  );
  const together = await f.api<{ warnings?: string[] }>(
    'POST',
    '/api/v1/rollouts',
    spec([{ name: 'both', select: { kind: 'sites', siteIds: [a, b] }, maxInFlight: 2 }]),
  );
  t.equal(together.status, 201);
  t.equal(together.body.warnings, undefined, 'the meeting in one ring: no warning');
});
