import t from 'tap';
import type { CommandResult } from '@diemcau/shared';
import { applyEvent, planDelivery, type CommandRecord } from '../../src/commands/lifecycle.js';

const rec = (over: Partial<CommandRecord> = {}): CommandRecord => ({
  id: 'cmd_1',
  batchId: null,
  deviceId: 'dev-1',
  siteId: 'xa-a',
  type: 'reboot',
  params: {},
  issuedBy: 'op-1',
  issuedAt: '2026-01-01T00:00:00.000Z',
  expiresAt: '2026-01-01T01:00:00.000Z',
  force: null,
  status: 'queued',
  attempts: 0,
  lastSentAt: null,
  deliveredAt: null,
  completedAt: null,
  result: null,
  ...over,
});
const result = (status: CommandResult['status'], commandId = 'cmd_1'): CommandResult => ({
  v: 1,
  commandId,
  status,
  at: '2026-01-01T00:10:00.000Z',
});

t.test('queued → delivered → succeeded', async (t) => {
  let r = rec();
  r = applyEvent(r, { kind: 'sent', at: '2026-01-01T00:00:01.000Z' }).next;
  t.equal(r.status, 'queued', 'sending alone is not delivery');
  t.equal(r.attempts, 1);
  r = applyEvent(r, { kind: 'acked', at: '2026-01-01T00:00:02.000Z' }).next;
  t.equal(r.status, 'delivered');
  t.equal(r.deliveredAt, '2026-01-01T00:00:02.000Z');
  const done = applyEvent(r, { kind: 'result', result: result('succeeded'), at: '2026-01-01T00:00:05.000Z' });
  t.ok(done.changed);
  t.equal(done.next.status, 'succeeded');
  t.equal(done.next.completedAt, '2026-01-01T00:00:05.000Z');
});

t.test('every device verdict ends the command', async (t) => {
  for (const s of ['succeeded', 'failed', 'rejected', 'expired'] as const) {
    const out = applyEvent(rec({ status: 'delivered' }), {
      kind: 'result',
      result: result(s),
      at: '2026-01-01T00:00:05.000Z',
    });
    t.equal(out.next.status, s);
    t.same(out.next.result, result(s));
  }
});

t.test('a result without a seen PUBACK still counts as delivered', async (t) => {
  const out = applyEvent(rec(), { kind: 'result', result: result('failed'), at: '2026-01-01T00:00:05.000Z' });
  t.equal(out.next.status, 'failed');
  t.equal(out.next.deliveredAt, '2026-01-01T00:00:05.000Z');
});

t.test('a duplicate result never replaces the first', async (t) => {
  const first = applyEvent(rec(), { kind: 'result', result: result('succeeded'), at: '2026-01-01T00:00:05.000Z' }).next;
  const again = applyEvent(first, { kind: 'result', result: result('failed'), at: '2026-01-01T00:00:06.000Z' });
  t.notOk(again.changed);
  t.equal(again.ignored, 'duplicate-result');
  t.equal(again.next.status, 'succeeded');
});

t.test('expiry only after expiresAt and only while open', async (t) => {
  const early = applyEvent(rec(), { kind: 'expire', at: '2026-01-01T00:59:59.000Z' });
  t.notOk(early.changed);
  t.equal(early.ignored, 'not-yet-expired');
  const late = applyEvent(rec({ status: 'delivered' }), { kind: 'expire', at: '2026-01-01T01:00:00.000Z' });
  t.equal(late.next.status, 'expired');
  t.equal(late.next.result, null, 'the fleet expiring it is not a device result');
  const done = rec({ status: 'succeeded', result: result('succeeded') });
  t.notOk(applyEvent(done, { kind: 'expire', at: '2026-01-02T00:00:00.000Z' }).changed);
});

t.test("a late device result replaces the fleet's own expiry", async (t) => {
  const expired = applyEvent(rec({ status: 'delivered' }), { kind: 'expire', at: '2026-01-01T01:00:00.000Z' }).next;
  const late = applyEvent(expired, { kind: 'result', result: result('succeeded'), at: '2026-01-01T01:05:00.000Z' });
  t.ok(late.changed);
  t.equal(late.next.status, 'succeeded');
});

t.test('terminal commands are not re-sent or re-acked', async (t) => {
  const done = rec({ status: 'failed', result: result('failed') });
  t.notOk(applyEvent(done, { kind: 'sent', at: '2026-01-01T00:00:01.000Z' }).changed);
  t.notOk(applyEvent(done, { kind: 'acked', at: '2026-01-01T00:00:01.000Z' }).changed);
  const delivered = rec({ status: 'delivered' });
  t.notOk(
    applyEvent(delivered, { kind: 'acked', at: '2026-01-01T00:00:01.000Z' }).changed,
    'second PUBACK of a re-send',
  );
});

t.test('planDelivery re-sends open commands oldest first and expires stale ones', async (t) => {
  const plan = planDelivery(
    [
      rec({ id: 'b', issuedAt: '2026-01-01T00:00:02.000Z' }),
      rec({ id: 'a', issuedAt: '2026-01-01T00:00:01.000Z', status: 'delivered' }),
      rec({ id: 'old', expiresAt: '2026-01-01T00:30:00.000Z' }),
      rec({ id: 'done', status: 'succeeded', result: result('succeeded', 'done') }),
    ],
    '2026-01-01T00:45:00.000Z',
  );
  t.same(
    plan.send.map((r) => r.id),
    ['a', 'b'],
  );
  t.same(
    plan.expire.map((r) => r.id),
    ['old'],
  );
});
