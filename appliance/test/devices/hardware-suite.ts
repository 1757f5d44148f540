import { healthCodec, type SelfTestResult } from '@diemcau/shared';
import type { Test } from 'tap';
import type { Hardware, PowerRequest } from '../../src/devices/types.js';

// One suite, run against the real hardware (on fixture trees, ffmpeg-made
// media and stand-in tools) and the simulated hardware (on injected faults):
// the same room in the same state must produce the same report from both.

export interface World {
  camera: 'live' | 'black' | 'frozen' | 'absent';
  microphone: 'speech' | 'muted' | 'clipping' | 'absent';
  tv: 'on' | 'standby' | 'disconnected';
}

export interface Room {
  hw: Hardware;
  /** A finger on the "call the province" button. */
  pressHelp(): void;
}

export type MakeRoom = (t: Test, world: World) => Promise<Room>;

const GOOD: World = { camera: 'live', microphone: 'speech', tv: 'on' };

function valid(t: Test, r: SelfTestResult): void {
  const check = healthCodec.check(r);
  t.ok(check.ok, check.ok ? 'self-test result matches the health schema' : check.error.message);
}

export function hardwareSuite(t: Test, make: MakeRoom): void {
  const room = async (t: Test, world: Partial<World> = {}) => {
    const r = await make(t, { ...GOOD, ...world });
    t.teardown(() => r.hw.close());
    return r;
  };

  t.test('a working room passes its self-test with measured values', async (t) => {
    const { hw } = await room(t);
    const r = await hw.selfTest({ commandId: 'cmd-1' });
    valid(t, r);
    t.equal(r.ok, true);
    t.equal(r.commandId, 'cmd-1');
    t.equal(r.hardware, hw.kind);
    t.same(r.peripherals, { camera: 'ok', microphone: 'ok', display: 'ok', gpio: 'ok' });
    t.equal(r.camera.devices.length, 1);
    t.ok(r.camera.measured!.frames >= 2);
    t.equal(r.camera.measured!.black, false);
    t.equal(r.camera.measured!.frozen, false);
    t.ok(
      r.microphone.measured!.rmsDbfs > -40 && r.microphone.measured!.rmsDbfs < -10,
      `speech at ${r.microphone.measured!.rmsDbfs} dBFS`,
    );
    t.equal(r.display.power, 'on');
    t.ok(r.display.connectors.some((c) => c.status === 'connected' && c.mode === '1920x1080'));
    t.ok(r.host && r.host.os.length > 0, 'host summary included');
    t.notOk((await hw.selfTest({ withHost: false })).host, 'host summary can be skipped');
  });

  t.test('nothing plugged in: missing with reasons, no error', async (t) => {
    const { hw } = await room(t, { camera: 'absent', microphone: 'absent', tv: 'disconnected' });
    t.same(await hw.camera.list(), []);
    t.same(await hw.microphone.list(), []);
    const r = await hw.selfTest();
    valid(t, r);
    t.equal(r.ok, false);
    t.same(r.peripherals, { camera: 'missing', microphone: 'missing', display: 'missing', gpio: 'ok' });
    t.equal(r.camera.reason?.code, 'none-found');
    t.equal(r.microphone.reason?.code, 'none-found');
    t.equal(r.display.reason?.code, 'disconnected');
    const quick = await hw.peripherals();
    t.same(quick.peripherals, r.peripherals, 'the quick snapshot agrees');
    t.equal(quick.reasons.display?.code, 'disconnected');
  });

  t.test('black camera, muted microphone, TV in standby', async (t) => {
    const { hw } = await room(t, { camera: 'black', microphone: 'muted', tv: 'standby' });
    const r = await hw.selfTest();
    valid(t, r);
    t.same(r.peripherals, { camera: 'fault', microphone: 'fault', display: 'fault', gpio: 'ok' });
    t.equal(r.camera.reason?.code, 'black');
    t.equal(r.camera.measured?.black, true);
    t.equal(r.microphone.reason?.code, 'silent');
    t.equal(r.microphone.measured?.silent, true);
    t.equal(r.microphone.measured?.rmsDbfs, -120);
    t.equal(r.display.reason?.code, 'standby');
  });

  t.test('frozen camera and clipping microphone', async (t) => {
    const { hw } = await room(t, { camera: 'frozen', microphone: 'clipping' });
    const r = await hw.selfTest();
    valid(t, r);
    t.equal(r.camera.reason?.code, 'frozen');
    t.equal(r.camera.measured?.frozen, true);
    t.equal(r.microphone.reason?.code, 'clipping');
    t.ok(r.microphone.measured!.clippedRatio > 0.01);
    t.equal(r.peripherals.display, 'ok');
  });

  t.test('quick snapshots keep a capture fault until the next capture', async (t) => {
    const { hw } = await room(t, { camera: 'black' });
    t.equal((await hw.peripherals()).peripherals.camera, 'ok', 'before any capture, a present camera is ok');
    await hw.camera.check();
    const snap = await hw.peripherals();
    t.equal(snap.peripherals.camera, 'fault');
    t.equal(snap.reasons.camera?.code, 'black');
  });

  t.test('identify turns the TV on and blinks the LED; help button and power requests are observable', async (t) => {
    const { hw, pressHelp } = await room(t, { tv: 'standby' });
    hw.gpio.setLed('online');
    t.same(await hw.identify(15_000), { tv: 'done', led: true });
    t.equal(hw.gpio.health().led, 'identify');
    t.equal(await hw.display.power(), 'on');
    const helps: string[] = [];
    hw.gpio.onHelp((e) => helps.push(e.kind));
    pressHelp();
    t.same(helps, ['help-requested']);
    const reqs: PowerRequest[] = [];
    hw.power.onRequest((r) => reqs.push(r));
    await hw.power.reboot('operator: test');
    await hw.power.restartAgent('settings');
    t.same(
      reqs.map((r) => [r.action, r.reason]),
      [
        ['reboot', 'operator: test'],
        ['restart-agent', 'settings'],
      ],
    );
    await hw.close();
    await hw.close();
  });
}
