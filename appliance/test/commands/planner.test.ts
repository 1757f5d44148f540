import t from 'tap';
import type { Command } from '@diemcau/shared';
import { decide, prunable, recoverInterrupted, type StoredEntry } from '../../src/commands/planner.js';

const now = new Date('2026-01-01T00:10:00.000Z');
const cmd = (over: Partial<Command> = {}): Command => ({
  v: 1,
  id: 'cmd_1',
  type: 'self-test',
  params: {},
  issuedAt: '2026-01-01T00:00:00.000Z',
  expiresAt: '2026-01-01T01:00:00.000Z',
  ...over,
});
const done: StoredEntry = {
  state: 'done',
  id: 'cmd_1',
  type: 'self-test',
  expiresAt: '2026-01-01T01:00:00.000Z',
  result: { v: 1, commandId: 'cmd_1', status: 'succeeded', at: '2026-01-01T00:05:00.000Z' },
};

t.test('a new, fresh command runs', async (t) => {
  t.same(decide(cmd(), undefined, now), { action: 'run' });
});

t.test('a finished command is answered again with the same result', async (t) => {
  t.same(decide(cmd(), done, now), { action: 'replay', result: done.result });
  t.same(
    decide(cmd({ expiresAt: '2025-01-01T00:00:00.000Z' }), done, now),
    { action: 'replay', result: done.result },
    'even once it has expired',
  );
});

t.test('a command in progress is not started twice', async (t) => {
  const running: StoredEntry = {
    state: 'running',
    id: 'cmd_1',
    type: 'self-test',
    startedAt: now.toISOString(),
    expiresAt: '2026-01-01T01:00:00.000Z',
  };
  t.same(decide(cmd(), running, now), { action: 'ignore', reason: 'running' });
});

t.test('an expired command is answered expired, never run', async (t) => {
  const d = decide(cmd({ expiresAt: '2026-01-01T00:10:00.000Z' }), undefined, now);
  t.match(d, {
    action: 'expire',
    result: { status: 'expired', commandId: 'cmd_1', error: { code: 'APPL_ERR_COMMAND_EXPIRED' } },
  });
});

t.test('after a restart: reboot and restart-agent succeeded, anything else failed and not re-run', async (t) => {
  const base = {
    state: 'running' as const,
    id: 'x',
    startedAt: '2026-01-01T00:01:00.000Z',
    expiresAt: '2026-01-01T01:00:00.000Z',
  };
  t.equal(recoverInterrupted({ ...base, type: 'reboot' }, now).status, 'succeeded');
  t.equal(recoverInterrupted({ ...base, type: 'restart-agent' }, now).status, 'succeeded');
  t.match(recoverInterrupted({ ...base, type: 'self-test' }, now), {
    status: 'failed',
    error: { code: 'APPL_ERR_COMMAND_INTERRUPTED' },
  });
});

t.test('only finished entries well past expiry are pruned', async (t) => {
  t.notOk(prunable(done, now, 0));
  t.ok(prunable(done, new Date('2026-01-01T02:00:01.000Z'), 3_600_000));
  const running: StoredEntry = {
    state: 'running',
    id: 'r',
    type: 'reboot',
    startedAt: '2025-01-01T00:00:00.000Z',
    expiresAt: '2025-01-01T00:00:00.000Z',
  };
  t.notOk(prunable(running, now, 0));
});
