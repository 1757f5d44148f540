import t, { type Test } from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import type { Command, CommandResult } from '@diemcau/shared';
import { createCommandExecutor, type HandlerMap, type HandlerOutcome } from '../../src/commands/executor.js';
import { createIdempotencyStore } from '../../src/commands/store.js';

const log = pino({ level: 'silent' });

function setup(t: Test, handler: (cmd: Command) => Promise<HandlerOutcome>) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'diemcau-exec-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return { dir, ...build(dir, handler) };
}

function build(dir: string, handler: (cmd: Command) => Promise<HandlerOutcome>) {
  const results: CommandResult[] = [];
  const runs: string[] = [];
  const wrapped = async (cmd: Command) => {
    runs.push(cmd.id);
    return handler(cmd);
  };
  const handlers = Object.fromEntries(
    (['reboot', 'restart-agent', 'restart-media', 'identify', 'self-test', 'set-config'] as const).map((k) => [
      k,
      wrapped,
    ]),
  ) as HandlerMap;
  const executor = createCommandExecutor({
    store: createIdempotencyStore(path.join(dir, 'commands'), { fsync: false }),
    handlers,
    log,
    publishResult: async (r) => void results.push(r),
  });
  return { executor, results, runs };
}

const cmd = (id: string, over: Partial<Command> = {}): string =>
  JSON.stringify({
    v: 1,
    id,
    type: 'identify',
    params: {},
    issuedAt: new Date().toISOString(),
    expiresAt: new Date(Date.now() + 3_600_000).toISOString(),
    ...over,
  } satisfies Command);

t.test('a redelivered command runs once and is answered twice with the same result', async (t) => {
  const { executor, results, runs } = setup(t, async () => ({ status: 'succeeded', output: { n: 1 } }));
  await executor.handle(Buffer.from(cmd('a')));
  await executor.handle(Buffer.from(cmd('a')));
  t.same(runs, ['a']);
  t.equal(results.length, 2);
  t.same(results[0], results[1], 'the duplicate gets the stored result, not a new one');
  t.equal(executor.counters.replayed, 1);
});

t.test('the store outlives the process: a redelivery after restart does not run again', async (t) => {
  const first = setup(t, async () => ({ status: 'succeeded' }));
  await first.executor.handle(cmd('b'));
  const second = build(first.dir, async () => ({ status: 'succeeded' }));
  await second.executor.recover();
  await second.executor.handle(cmd('b'));
  t.same(second.runs, [], 'the new executor ran nothing');
  t.match(second.results, [{ commandId: 'b', status: 'succeeded' }]);
});

t.test('a command interrupted by a crash is answered, not re-run', async (t) => {
  // The first agent dies inside the handler: 'running' is on disk, no result.
  const first = setup(t, () => new Promise<HandlerOutcome>(() => undefined));
  void first.executor.handle(cmd('c', { type: 'self-test' }));
  void first.executor.handle(cmd('r', { type: 'reboot' }));
  await new Promise((r) => setImmediate(r));
  t.same(first.runs, ['c'], 'the reboot waits behind the self-test');
  const second = build(first.dir, async () => ({ status: 'succeeded' }));
  await second.executor.recover();
  t.match(second.results, [{ commandId: 'c', status: 'failed', error: { code: 'APPL_ERR_COMMAND_INTERRUPTED' } }]);
  await second.executor.handle(cmd('c', { type: 'self-test' }));
  t.same(second.runs, [], 'redelivered after the restart: still not run');
  await second.executor.handle(cmd('r', { type: 'reboot' }));
  t.same(second.runs, ['r'], 'the reboot never started, so it runs now');
});

t.test('an expired command is answered expired without running', async (t) => {
  const { executor, results, runs } = setup(t, async () => ({ status: 'succeeded' }));
  await executor.handle(cmd('d', { expiresAt: new Date(Date.now() - 1000).toISOString() }));
  t.same(runs, []);
  t.match(results, [{ commandId: 'd', status: 'expired' }]);
});

t.test('a throwing handler fails the command with its code; the agent keeps going', async (t) => {
  let n = 0;
  const { executor, results } = setup(t, async () => {
    if (n++ === 0) throw new Error('camera on fire');
    return { status: 'succeeded' };
  });
  await executor.handle(cmd('e'));
  await executor.handle(cmd('f'));
  t.match(results, [
    { commandId: 'e', status: 'failed', error: { code: 'APPL_ERR_COMMAND', message: 'camera on fire' } },
    { commandId: 'f', status: 'succeeded' },
  ]);
});

t.test('bad payloads are counted; one with a usable id is answered rejected', async (t) => {
  const { executor, results, runs } = setup(t, async () => ({ status: 'succeeded' }));
  await executor.handle(Buffer.from('not json'));
  await executor.handle(Buffer.from(JSON.stringify({ v: 1, id: 'g', type: 'format-disk' })));
  t.equal(executor.counters.bad, 2);
  t.same(runs, []);
  t.match(results, [{ commandId: 'g', status: 'rejected', error: { code: 'PROTO_ERR_SCHEMA' } }]);
});

t.test('the after-action runs only once the result is queued', async (t) => {
  const order: string[] = [];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'diemcau-exec-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const handler = async (_cmd: Command): Promise<HandlerOutcome> => ({
    status: 'succeeded',
    after: () => order.push('restart'),
  });
  const handlers = Object.fromEntries(
    (['reboot', 'restart-agent', 'restart-media', 'identify', 'self-test', 'set-config'] as const).map((k) => [
      k,
      handler,
    ]),
  ) as HandlerMap;
  const executor = createCommandExecutor({
    store: createIdempotencyStore(path.join(dir, 'commands'), { fsync: false }),
    handlers,
    log,
    publishResult: async (r) => void order.push(`result:${r.status}`),
  });
  await executor.handle(cmd('h', { type: 'restart-agent' }));
  t.same(order, ['result:succeeded', 'restart']);
});
