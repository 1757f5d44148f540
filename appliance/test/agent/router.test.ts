// The agent's channel router: a state message (desired release, media plan)
// that arrives before its handler is registered is handed over once it is,
// as happens when the fleet dispatches an update while the agent is still
// starting; commands are not held (the fleet resends them).
import t from 'tap';
import { deviceTopic } from '@diemcau/shared';
import { ChannelRouter } from '../../src/agent/router.js';

const DEVICE = 'dev-router-1';
const quiet = { warn: () => undefined, debug: () => undefined };
const tick = () => new Promise<void>((r) => setImmediate(r));

t.test('a desired state that came before its handler is handed over, once', async (t) => {
  const router = new ChannelRouter(DEVICE, quiet);
  router.dispatch(deviceTopic(DEVICE, 'desired'), Buffer.from('{"old":1}'), false);
  router.dispatch(deviceTopic(DEVICE, 'desired'), Buffer.from('{"new":1}'), false);
  const got: string[] = [];
  let wired = false;
  router.on('desired', (p) => {
    t.ok(wired, "handed over after the caller's own wiring");
    got.push(p.toString());
  });
  wired = true;
  await tick();
  t.same(got, ['{"new":1}'], 'the latest state only');
  t.same(router.stats(), { delivered: 1, unrouted: 2, handlerErrors: 0, foreign: 0 });
  await tick();
  t.equal(got.length, 1, 'not handed over twice');
});

t.test('a message newer than the held one wins; an unregistered handler gets nothing', async (t) => {
  const router = new ChannelRouter(DEVICE, quiet);
  router.dispatch(deviceTopic(DEVICE, 'media'), Buffer.from('stale'), true);
  const got: string[] = [];
  router.on('media', (p) => void got.push(p.toString()));
  router.dispatch(deviceTopic(DEVICE, 'media'), Buffer.from('fresh'), false);
  await tick();
  t.same(got, ['fresh'], 'the held plan is not replayed over a newer one');

  router.dispatch(deviceTopic(DEVICE, 'readiness'), Buffer.from('req'), true);
  const off = router.on('readiness', () => void t.fail('unregistered before the hand-over'));
  off();
  await tick();
});

t.test('commands are not held', async (t) => {
  const router = new ChannelRouter(DEVICE, quiet);
  router.dispatch(deviceTopic(DEVICE, 'commands'), Buffer.from('{}'), false);
  router.on('commands', () => void t.fail('a command replayed'));
  await tick();
  t.equal(router.stats().unrouted, 1);
});
