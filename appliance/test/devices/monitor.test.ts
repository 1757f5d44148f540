import fs from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';
import type { PeripheralsReport } from '@diemcau/shared';
import { healthCodec } from '@diemcau/shared';
import { createHardware } from '../../src/devices/hardware.js';
import { createHealthMonitor } from '../../src/devices/monitor.js';
import { changedPeripherals } from '../../src/devices/verdicts.js';
import { ManualClock, recordingLog, tempDir, writeTree } from './helpers.js';

// The monitor reports on the first poll and on every change, at once when a
// simulated fault is injected, and stays quiet while nothing changes.

const settle = () => new Promise((r) => setImmediate(r));

/** Simulated hardware on a manual clock, watched by a monitor that keeps its reports. */
async function simulatedMonitor(t: { teardown(fn: () => unknown): void }) {
  const clock = new ManualClock();
  const hw = await createHardware({ kind: 'simulated', log: recordingLog(), clock });
  t.teardown(() => hw.close());
  const reports: PeripheralsReport[] = [];
  const monitor = createHealthMonitor({
    hardware: hw,
    intervalMs: 30_000,
    log: recordingLog(),
    clock,
    onReport: (r) => reports.push(r),
  });
  t.teardown(() => monitor.close());
  return { hw, monitor, reports };
}

t.test('reports the first state, each change, and nothing in between', async (t) => {
  const { hw, monitor, reports } = await simulatedMonitor(t);
  await settle();
  t.equal(reports.length, 1, 'first poll reports');
  t.ok(healthCodec.check(reports[0]).ok, 'a valid health message');
  t.same(reports[0]!.peripherals, { camera: 'ok', microphone: 'ok', display: 'ok', gpio: 'ok' });

  t.equal(await monitor.poll(), null, 'no change, no report');

  hw.faults.inject('camera-unplugged'); // triggers a poll without waiting for the interval
  await settle();
  t.equal(reports.length, 2, 'reported on injection, the clock has not moved');
  t.equal(reports[1]!.peripherals.camera, 'missing');
  t.equal(reports[1]!.reasons.camera?.code, 'none-found');

  hw.faults.inject('tv-disconnected');
  await settle();
  t.equal(reports.length, 3);
  t.equal(reports[2]!.peripherals.display, 'missing');

  hw.faults.clear();
  await settle();
  await monitor.poll();
  t.same(
    reports[reports.length - 1]!.peripherals,
    { camera: 'ok', microphone: 'ok', display: 'ok', gpio: 'ok' },
    'resolved',
  );
  t.same(monitor.current(), reports[reports.length - 1]!.peripherals);

  monitor.close();
  monitor.close();
  hw.faults.inject('mic-unplugged');
  await settle();
  t.equal(await monitor.poll(), null, 'closed: no more polls');
});

t.test('a poll asked for during a poll answers with what the hardware said after the request', async (t) => {
  const { hw, monitor, reports } = await simulatedMonitor(t);
  // The first poll is under way; the microphone goes while it runs.
  hw.faults.inject('mic-unplugged');
  const report = await monitor.poll();
  t.equal(report?.peripherals.microphone, 'missing', 'not the answer of the poll that was already running');
  t.equal(reports.length, 2, 'the first state, then the change');
  await settle();
  t.equal(reports.length, 2, 'the two requests during the poll made one more poll, not two');
});

t.test('real hardware: a TV unplugged between polls is seen by the next interval poll', async (t) => {
  const root = await tempDir(t);
  const status = path.join(root, 'sys/class/drm/card0-HDMI-A-1/status');
  await writeTree(root, { 'sys/class/drm/card0-HDMI-A-1/status': 'connected\n' });
  const clock = new ManualClock();
  const hw = await createHardware({
    kind: 'real',
    log: recordingLog(),
    clock,
    options: { roots: { sys: path.join(root, 'sys'), proc: path.join(root, 'proc'), dev: path.join(root, 'dev') } },
  });
  t.teardown(() => hw.close());
  const reports: PeripheralsReport[] = [];
  const monitor = createHealthMonitor({
    hardware: hw,
    intervalMs: 10_000,
    log: recordingLog(),
    clock,
    onReport: (r) => reports.push(r),
  });
  t.teardown(() => monitor.close());
  await monitor.poll();
  t.equal(reports.length, 1);
  t.equal(reports[0]!.peripherals.display, 'ok');
  t.equal(reports[0]!.hardware, 'real');
  await fs.writeFile(status, 'disconnected\n');
  clock.advance(9_999);
  await settle();
  t.equal(reports.length, 1, 'not before the interval');
  clock.advance(1);
  // The poll reads real files: give the disk time on a busy machine (a bound, not a timing check).
  for (const end = Date.now() + 10_000; reports.length < 2 && Date.now() < end;)
    await new Promise((r) => setTimeout(r, 10));
  t.equal(reports.length, 2, 'the interval poll saw the change');
  t.equal(reports[1]!.peripherals.display, 'missing');
  t.equal(reports[1]!.reasons.display?.code, 'disconnected');
});

t.test('a throwing report listener does not stop the monitor', async (t) => {
  const clock = new ManualClock();
  const hw = await createHardware({ kind: 'simulated', log: recordingLog(), clock });
  t.teardown(() => hw.close());
  const log = recordingLog();
  let calls = 0;
  const monitor = createHealthMonitor({
    hardware: hw,
    intervalMs: 1000,
    log,
    clock,
    onReport: () => {
      calls++;
      throw new Error('publish failed');
    },
  });
  t.teardown(() => monitor.close());
  await settle();
  hw.faults.inject('mic-muted'); // not visible without capture: no change
  hw.faults.inject('mic-unplugged');
  await settle();
  await monitor.poll();
  t.equal(calls, 2);
  t.ok(log.entries.some((e) => e.level === 'error' && e.msg === 'health report listener threw'));
});

t.test('changedPeripherals', async (t) => {
  const ok = { camera: 'ok', microphone: 'ok', display: 'ok', gpio: 'ok' } as const;
  t.same(changedPeripherals(null, ok), ['camera', 'microphone', 'display', 'gpio']);
  t.same(changedPeripherals(ok, { ...ok, display: 'missing' }), ['display']);
  t.same(changedPeripherals(ok, ok), []);
});
