import t from 'tap';
import { backoffDelay } from '../../src/backoff.js';
import { decorateTelemetry } from '../../src/agent/decorate.js';
import { clampPercent, pickMount } from '../../src/telemetry/system-collector.js';

t.test('backoff grows, is capped, never zero', async (t) => {
  const policy = { initialMs: 1000, maxMs: 30_000, factor: 2 };
  t.equal(
    backoffDelay(0, policy, () => 0),
    500,
  );
  t.equal(
    backoffDelay(0, policy, () => 1),
    1000,
  );
  t.equal(
    backoffDelay(3, policy, () => 1),
    8000,
  );
  t.equal(
    backoffDelay(50, policy, () => 1),
    30_000,
  );
  t.equal(
    backoffDelay(50, policy, () => 0),
    15_000,
  );
});

t.test('telemetry carries the drop count only when there was a drop', async (t) => {
  const head = { index: 4, channel: 'telemetry', payload: '{"v":1,"seq":9}', droppedBefore: 0 };
  t.equal(decorateTelemetry(head), head.payload);
  t.same(JSON.parse(decorateTelemetry({ ...head, droppedBefore: 12 })), { v: 1, seq: 9, dropped: 12 });
  t.equal(
    decorateTelemetry({ ...head, channel: 'command-results', droppedBefore: 3 }),
    head.payload,
    'other channels untouched',
  );
  t.equal(decorateTelemetry({ ...head, payload: 'nope', droppedBefore: 3 }), 'nope');
});

t.test('the disk reported is the one holding the data dir', async (t) => {
  const disks = [{ mount: '/' }, { mount: '/var' }, { mount: '/var/lib/diemcau-other' }];
  t.equal(pickMount(disks, '/var/lib/diemcau')?.mount, '/var');
  t.equal(pickMount(disks, '/home/x')?.mount, '/');
  t.equal(clampPercent(140), 100);
  t.equal(clampPercent(Number.NaN), 0);
});
