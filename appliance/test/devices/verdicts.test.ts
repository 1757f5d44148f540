import t from 'tap';
import { DiemcauError, healthCodec, type SelfTestResult } from '@diemcau/shared';
import {
  cameraHealth,
  captureFailure,
  displayHealth,
  microphoneHealth,
  roomReady,
} from '../../src/devices/verdicts.js';

// From findings to the states the fleet sees: pure, shared by real and simulated.

const runError = (failure: string, stderr = '') =>
  new DiemcauError('APPL_ERR_HARDWARE', `ffmpeg: ${failure}`, { details: { failure, command: 'ffmpeg', stderr } });

t.test('capture failures map to stable reason codes', async (t) => {
  t.equal(captureFailure('camera', runError('timeout')).code, 'timeout');
  t.equal(captureFailure('camera', runError('not-installed')).code, 'error');
  t.equal(
    captureFailure('camera', runError('exit', '/dev/video0: Device or resource busy\nInput/output error')).code,
    'busy',
  );
  t.equal(captureFailure('microphone', runError('exit', 'No such file or directory')).code, 'open-failed');
  t.equal(captureFailure('microphone', new Error('odd')).code, 'open-failed');
  const busy = cameraHealth({
    devices: [{ node: '/dev/video0', name: 'c' }],
    device: '/dev/video0',
    failure: captureFailure('camera', runError('exit', 'Device or resource busy')),
  });
  t.equal(busy.state, 'unknown', 'busy says nothing about health');
  const broken = microphoneHealth({
    devices: [{ id: 'hw:1,0', name: 'm' }],
    device: 'hw:1,0',
    failure: captureFailure('microphone', runError('timeout')),
  });
  t.equal(broken.state, 'fault');
});

t.test('a capture with no frames or no samples is a fault', async (t) => {
  const cam = cameraHealth({
    devices: [{ node: '/dev/video0', name: 'c' }],
    device: '/dev/video0',
    verdict: { frames: 0, meanLuma: 0, maxFrameDiff: 0, black: false, frozen: false },
  });
  t.equal(cam.reason?.code, 'open-failed');
  const mic = microphoneHealth({
    devices: [{ id: 'hw:1,0', name: 'm' }],
    device: 'hw:1,0',
    verdict: { seconds: 0, peakDbfs: -120, rmsDbfs: -120, clippedRatio: 0, silent: true, clipping: false },
  });
  t.equal(mic.reason?.code, 'open-failed', 'no samples is not "silent"');
});

t.test('display states from connectors', async (t) => {
  const c = (status: 'connected' | 'disconnected' | 'unknown') => ({
    name: 'card0-HDMI-A-1',
    status,
    enabled: null,
    mode: null,
  });
  t.equal(displayHealth([], 'unsupported').reason?.code, 'none-found');
  t.equal(displayHealth([c('disconnected'), c('disconnected')], 'unknown').reason?.code, 'disconnected');
  t.equal(displayHealth([c('unknown')], 'unknown').state, 'unknown');
  t.equal(
    displayHealth([c('disconnected'), c('connected')], 'unsupported').state,
    'ok',
    'one TV on any connector is enough',
  );
  t.equal(displayHealth([c('connected')], 'standby').reason?.code, 'standby');
});

t.test('whatever the host holds, the report stays within the schema', async (t) => {
  const many = Array.from({ length: 40 }, (_, i) => ({ node: `/dev/video${i}`, name: 'x'.repeat(300) }));
  const cam2 = cameraHealth({
    devices: many,
    device: many[0]!.node,
    verdict: { frames: 5, meanLuma: 100, maxFrameDiff: 3, black: false, frozen: false },
  });
  t.equal(cam2.devices.length, 32);
  const mic = microphoneHealth({ devices: [] });
  const display = displayHealth(
    Array.from({ length: 20 }, (_, i) => ({
      name: `card0-DP-${i}`,
      status: 'connected' as const,
      enabled: true,
      mode: '1920x1080',
    })),
    'on',
  );
  const gpio = { state: 'missing' as const, led: 'off' as const, helpButton: false, tvRelay: false };
  const peripherals = { camera: cam2.state, microphone: mic.state, display: display.state, gpio: gpio.state };
  const r: SelfTestResult = {
    v: 1,
    kind: 'self-test',
    startedAt: new Date().toISOString(),
    finishedAt: new Date().toISOString(),
    hardware: 'real',
    ok: roomReady(peripherals),
    peripherals,
    camera: cam2,
    microphone: mic,
    display,
    gpio,
  };
  const check = healthCodec.check(r);
  t.ok(check.ok, check.ok ? 'valid' : check.error.message);
  t.equal(r.ok, false);
});
