import t from 'tap';
import type { Peripherals, Telemetry } from '@diemcau/shared';
import type { HealthAlertType } from '../../src/alerts/alert-types.js';
import { planPeripherals, planTelemetry } from '../../src/health/planner.js';

const all = (over: Partial<Peripherals> = {}): Peripherals => ({
  camera: 'ok',
  microphone: 'ok',
  display: 'ok',
  gpio: 'ok',
  ...over,
});
const none = new Set<HealthAlertType>();
const types = (d: { open: { type: string }[] }) => d.open.map((c) => c.type).sort();

t.test('an unplugged camera and a disconnected TV open their alerts', async (t) => {
  const d = planPeripherals(
    'report',
    all({ camera: 'missing', display: 'fault' }),
    { display: { code: 'disconnected', message: 'no HDMI' } },
    none,
  );
  t.same(types(d), ['camera-missing', 'display-disconnected']);
  t.same(d.resolve, []);
});

t.test('a silent microphone is a self-test finding, and only a self-test clears it', async (t) => {
  const silent = planPeripherals(
    'self-test',
    all({ microphone: 'fault' }),
    { microphone: { code: 'silent', message: '-90 dBFS' } },
    none,
  );
  t.same(types(silent), ['microphone-silent']);
  const open = new Set<HealthAlertType>(['microphone-silent']);
  t.same(planPeripherals('report', all(), {}, open).resolve, [], 'an enumeration report cannot hear silence');
  t.same(planPeripherals('self-test', all(), {}, open).resolve, ['microphone-silent']);
  t.same(
    planPeripherals('report', all({ microphone: 'missing' }), {}, open),
    {
      open: [
        {
          type: 'microphone-missing',
          severity: 'warning',
          message: 'microphone not found (missing)',
          details: { peripheral: 'microphone', state: 'missing' },
        },
      ],
      resolve: ['microphone-silent'],
    },
    'unplugged: it is missing, not silent',
  );
});

t.test(
  'a camera back after being unplugged resolves camera-missing; black picture stays until a self-test',
  async (t) => {
    const open = new Set<HealthAlertType>(['camera-missing', 'camera-fault']);
    t.same(planPeripherals('report', all(), {}, open).resolve, ['camera-missing']);
    t.same(planPeripherals('self-test', all(), {}, open).resolve.sort(), ['camera-fault', 'camera-missing']);
  },
);

t.test('unknown says nothing; a TV in standby is not an alert; open alerts are not opened twice', async (t) => {
  const open = new Set<HealthAlertType>(['camera-missing']);
  t.same(planPeripherals('report', all({ camera: 'unknown' }), {}, open), { open: [], resolve: [] });
  t.same(
    planPeripherals(
      'report',
      all({ display: 'fault' }),
      { display: { code: 'standby', message: 'CEC standby' } },
      none,
    ),
    { open: [], resolve: [] },
  );
  t.same(planPeripherals('report', all({ camera: 'missing' }), {}, open), { open: [], resolve: [] });
});

const tele = (used: number, temp?: number): Telemetry => ({
  v: 1,
  seq: 1,
  at: '2026-01-01T00:00:00.000Z',
  cpu: { loadPercent: 10, ...(temp === undefined ? {} : { temperatureC: temp }) },
  memory: { usedBytes: 1, totalBytes: 2 },
  disk: { usedBytes: used, totalBytes: 100 },
  network: { rxBytesPerSec: 0, txBytesPerSec: 0 },
  uptimeSec: 1,
});

t.test('disk and temperature open past the line and resolve only well below it', async (t) => {
  t.same(types(planTelemetry(tele(95, 90), none)), ['disk-nearly-full', 'overheating']);
  const open = new Set<HealthAlertType>(['disk-nearly-full', 'overheating']);
  t.same(planTelemetry(tele(88, 82), open), { open: [], resolve: [] }, 'hysteresis: still open between the lines');
  t.same(planTelemetry(tele(80, 70), open).resolve, ['disk-nearly-full', 'overheating']);
  t.same(planTelemetry(tele(50), open).resolve, ['disk-nearly-full'], 'no temperature sensor: overheating undecided');
});
