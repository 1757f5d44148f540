// A reboot counts as done only when the box is back with an uptime that
// started after it accepted; an update's steps come from its real report.
// Pure functions over plain data (fleet/ui/state/progress.ts), in Node.
import t from 'tap';
import { otaSteps, rebootProgress, REBOOT_RETURN_MS, versionOnTrial } from '../../ui/state/progress.js';
import type { CommandView, Device, OtaReport } from '../../ui/api/types.js';

const T0 = Date.parse('2026-12-03T02:00:00.000Z');
const iso = (ms: number) => new Date(T0 + ms).toISOString();

const reboot = (status: CommandView['status'], acceptedMs = 0): CommandView =>
  ({
    id: 'c1',
    batchId: null,
    deviceId: 'd1',
    siteId: 's1',
    type: 'reboot',
    params: {},
    issuedBy: 'op',
    issuedAt: iso(-2000),
    expiresAt: iso(600_000),
    force: null,
    status,
    attempts: 1,
    lastSentAt: iso(-1500),
    deliveredAt: status === 'queued' ? null : iso(-1000),
    completedAt: status === 'queued' || status === 'delivered' ? null : iso(acceptedMs),
    result:
      status === 'queued' || status === 'delivered' ? null : { v: 1, commandId: 'c1', status, at: iso(acceptedMs) },
  }) as CommandView;

const box = (
  online: boolean,
  presenceMs: number,
  sample?: { atMs: number; uptimeSec: number; lagMs?: number },
): Device =>
  ({
    id: 'd1',
    siteId: 's1',
    serial: null,
    online,
    lastSeenAt: iso(presenceMs),
    presenceAt: iso(presenceMs),
    agentVersion: null,
    os: null,
    model: null,
    hardware: null,
    peripherals: null,
    enrolledAt: iso(-86_400_000),
    telemetry: sample
      ? {
          seq: 1,
          at: iso(sample.atMs),
          receivedAt: iso(sample.atMs + (sample.lagMs ?? 0)),
          data: {
            v: 1,
            seq: 1,
            at: iso(sample.atMs),
            cpu: { loadPercent: 5 },
            memory: { usedBytes: 1, totalBytes: 2 },
            disk: { usedBytes: 1, totalBytes: 2 },
            network: { rxBytesPerSec: 0, txBytesPerSec: 0 },
            uptimeSec: sample.uptimeSec,
          },
        }
      : null,
  }) as Device;

t.test('a reboot goes through its stages and is done only when the uptime restarted', async (t) => {
  t.equal(rebootProgress(reboot('delivered'), box(true, -3_600_000), T0).stage, 'sending');
  t.equal(
    rebootProgress(reboot('delivered'), box(false, 500), T0 + 600).stage,
    'offline',
    'delivered, then dropped off before its answer arrived',
  );
  t.equal(
    rebootProgress(reboot('succeeded'), box(true, -3_600_000), T0 + 500).stage,
    'restarting',
    'accepted, still connected',
  );
  t.equal(
    rebootProgress(reboot('succeeded'), box(false, 800), T0 + 1000).stage,
    'offline',
    'dropped off after accepting',
  );
  t.equal(
    rebootProgress(reboot('succeeded'), box(true, 40_000, { atMs: -60_000, uptimeSec: 86_400 }), T0 + 41_000).stage,
    'reconnected',
    'back, no sample since',
  );
  const back = rebootProgress(reboot('succeeded'), box(true, 40_000, { atMs: 42_000, uptimeSec: 30 }), T0 + 43_000);
  t.same(back, { stage: 'back', since: iso(40_000), uptimeSec: 30 }, 'back with an uptime that began after the reboot');
  t.equal(
    rebootProgress(reboot('succeeded'), box(true, 40_000, { atMs: 42_000, uptimeSec: 86_400 }), T0 + 43_000).stage,
    'not-restarted',
    'reconnected, but the uptime says the box never restarted',
  );
  t.equal(
    rebootProgress(reboot('succeeded'), box(true, -3_600_000), T0 + REBOOT_RETURN_MS + 1).stage,
    'no-return',
    'never seen go',
  );
  t.equal(
    rebootProgress(reboot('succeeded'), box(true, 4_000, { atMs: 2_000, uptimeSec: 86_400 }), T0 + 5_000).stage,
    'reconnected',
    'a sample that arrived before the box came back is not its first since',
  );
  t.equal(rebootProgress(reboot('failed'), box(true, -3_600_000), T0).stage, 'failed');
  t.equal(rebootProgress(reboot('expired'), box(true, -3_600_000), T0).stage, 'failed');
});

t.test("an update's steps follow the box's report, and a failure marks where it stopped", async (t) => {
  const r = (state: OtaReport['state'], code?: string): OtaReport =>
    ({
      state,
      current: '1.0.0',
      target: '1.1.0',
      at: iso(0),
      ...(code ? { error: { code, message: 'x' } } : {}),
    }) as OtaReport;
  const marks = (rep: OtaReport) =>
    otaSteps(rep)
      ?.map((s) => `${s.step}:${s.state}`)
      .join(' ');
  t.equal(marks(r('idle')), undefined, 'nothing to show when idle');
  t.equal(
    marks(r('installing')),
    'downloading:done verifying:done installing:now switching:todo health-check:todo committed:todo',
  );
  t.equal(
    marks(r('committed')),
    'downloading:done verifying:done installing:done switching:done health-check:done committed:done',
  );
  t.equal(
    marks(r('failed', 'APPL_ERR_OTA_DOWNLOAD')),
    'downloading:failed verifying:todo installing:todo switching:todo health-check:todo committed:todo',
  );
  t.equal(
    marks(r('rolled-back', 'APPL_ERR_OTA_HEALTH')),
    'downloading:done verifying:done installing:done switching:done health-check:failed committed:todo',
  );
});

t.test('a version the box switched to is on trial until it is committed', async (t) => {
  // As the box reports it: the birth names the version it runs, the update report the step.
  const report = (state: OtaReport['state'], current: string, target?: string): OtaReport =>
    ({ v: 1, state, current, at: iso(0), ...(target ? { target } : {}) }) as OtaReport;
  t.ok(versionOnTrial('0.1.5', report('health-check', '0.1.5', '0.1.5')), 'restarted into it, health check running');
  t.ok(
    versionOnTrial('0.1.5', report('switching', '0.1.4', '0.1.5')),
    "running it, the restarted agent's first report not in yet",
  );
  t.notOk(versionOnTrial('0.1.5', report('committed', '0.1.5', '0.1.5')), 'committed: no longer on trial');
  t.notOk(versionOnTrial('0.1.4', report('switching', '0.1.4', '0.1.5')), 'still on the old version, switch pending');
  t.notOk(
    versionOnTrial('0.1.4', report('rolled-back', '0.1.4', '0.1.5')),
    'rolled back: the old version is committed',
  );
  t.notOk(versionOnTrial('0.1.4', report('idle', '0.1.4')), 'nothing going on');
  t.notOk(versionOnTrial('0.1.5', null), 'no report at all');
  t.notOk(versionOnTrial(null, report('health-check', '0.1.5', '0.1.5')), 'no birth yet');
});
