import t from 'tap';
import { createHardware } from '../../src/devices/hardware.js';
import type { FaultName } from '../../src/devices/simulated/faults.js';
import { hardwareSuite, type World } from './hardware-suite.js';
import { ManualClock, recordingLog } from './helpers.js';

// The shared suite against simulated hardware, the world set by injected
// faults; then what only the simulator has: faults changed at runtime.

function faultsFor(w: World): FaultName[] {
  const f: FaultName[] = [];
  if (w.camera === 'absent') f.push('camera-unplugged');
  if (w.camera === 'black') f.push('camera-black');
  if (w.camera === 'frozen') f.push('camera-frozen');
  if (w.microphone === 'absent') f.push('mic-unplugged');
  if (w.microphone === 'muted') f.push('mic-muted');
  if (w.microphone === 'clipping') f.push('mic-clipping');
  if (w.tv === 'standby') f.push('tv-off');
  if (w.tv === 'disconnected') f.push('tv-disconnected');
  return f;
}

t.test('shared suite: simulated hardware', async (t) => {
  hardwareSuite(t, async (_t, world) => {
    const hw = await createHardware({ kind: 'simulated', log: recordingLog(), clock: new ManualClock() });
    for (const f of faultsFor(world)) hw.faults.inject(f);
    return { hw, pressHelp: () => hw.faults.pressHelpButton() };
  });
});

t.test('faults change at runtime and clear again', async (t) => {
  const hw = await createHardware({
    kind: 'simulated',
    log: recordingLog(),
    clock: new ManualClock(),
    options: { simulated: { faults: ['mic-muted'], serial: 'SIM-42' } },
  });
  t.teardown(() => hw.close());
  t.same(hw.faults.active(), ['mic-muted'], 'faults from config are there from the start');
  t.equal((await hw.host.summary()).serial, 'SIM-42');
  let changes = 0;
  hw.faults.onChange(() => changes++);
  hw.faults.inject('camera-unplugged');
  hw.faults.inject('camera-unplugged');
  t.equal(changes, 1, 'injecting twice is one change');
  t.equal((await hw.selfTest()).peripherals.camera, 'missing');
  hw.faults.clear('camera-unplugged');
  t.equal((await hw.selfTest()).peripherals.camera, 'ok', 'plugged back in');
  hw.faults.clear();
  t.same(hw.faults.active(), []);
  t.equal((await hw.selfTest()).ok, true);
});

t.test('GPIO taken away at runtime: missing, said once, the button does nothing', async (t) => {
  const log = recordingLog();
  const hw = await createHardware({ kind: 'simulated', log, clock: new ManualClock() });
  t.teardown(() => hw.close());
  const helps: string[] = [];
  hw.gpio.onHelp((e) => helps.push(e.id));
  hw.faults.inject('gpio-absent');
  hw.faults.pressHelpButton();
  t.same(helps, []);
  hw.gpio.setLed('error');
  t.equal((await hw.selfTest()).peripherals.gpio, 'missing');
  await hw.peripherals();
  t.equal(log.entries.filter((e) => e.msg?.startsWith('GPIO unavailable')).length, 1);
  hw.faults.clear('gpio-absent');
  hw.faults.pressHelpButton();
  t.equal(helps.length, 1);
});

t.test('simulated reboot is recorded, not performed', async (t) => {
  const clock = new ManualClock();
  const hw = await createHardware({ kind: 'simulated', log: recordingLog(), clock });
  t.teardown(() => hw.close());
  await hw.power.reboot('forced during meeting: projector on fire');
  t.equal(hw.powerRequests.length, 1);
  t.equal(hw.powerRequests[0]!.action, 'reboot');
  const cycle = hw.gpio.powerCycleTv();
  clock.advance(60_000);
  t.equal(await cycle, 'done');
  t.same(hw.pins.outputs.get(22)?.writes, [1, 0, 1], 'the TV relay clicked off and on');
});
