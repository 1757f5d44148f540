// The login throttle's bookkeeping on plain data: what it remembers is
// bounded whatever a flood does, and only a scan of many ids cuts an address.
import t from 'tap';
import { FailureLimiter } from '../../src/api/failure-limiter.js';
import { LoginThrottle } from '../../src/broker/login-throttle.js';

t.test('the failure limiter stays bounded under a flood of keys and of failures', async (t) => {
  const limiter = new FailureLimiter(5, 60_000, 1000);
  for (let i = 0; i < 50_000; i++) limiter.fail(`10.0.${i >> 8}.${i & 255}`, 1000 + i);
  t.ok(limiter.size <= 1000, `${limiter.size} keys kept`);
  for (let i = 0; i < 10_000; i++) limiter.fail('one', 100_000);
  t.equal(limiter.count('one', 100_000), 5, 'a key keeps no more than its limit');
  t.ok(limiter.blocked('one', 100_000));
  t.notOk(limiter.blocked('one', 160_001), 'and forgets after the window');
});

t.test('one id failing forever never cuts its address; many ids do, unless a box logged in there', async (t) => {
  const throttle = new LoginThrottle({ maxFailuresPerPair: 3, maxFailedIdsPerAddress: 5, windowMs: 60_000 });
  let now = 0;
  const d = (n: number) => LoginThrottle.digest('scrypt$h', Buffer.from(`p${n}`));
  for (let i = 0; i < 1000; i++) throttle.failed('10.0.0.1', 'dev-stale', ++now, d(i));
  t.notOk(throttle.addressCut('10.0.0.1', now), 'a stale box is one id');
  // Made-up ids (no password was checked: no digest) never count.
  for (let i = 0; i < 50; i++) throttle.failed('10.0.0.1', `dev-made-up-${i}`, ++now);
  t.notOk(throttle.addressCut('10.0.0.1', now), 'made-up ids never cut an address');
  for (let i = 0; i < 5; i++) throttle.failed('10.0.0.1', `dev-${i}`, ++now, d(i));
  t.ok(throttle.addressCut('10.0.0.1', now), 'six real ids with wrong passwords: a scan');
  t.notOk(throttle.addressCut('10.0.0.2', now), 'other addresses are not touched');
  throttle.succeeded('10.0.0.1', ++now);
  t.notOk(throttle.addressCut('10.0.0.1', now), 'a box logged in from there: never cut');
  t.ok(throttle.addressCut('10.0.0.1', now + 60_001) === false, 'and the failures age out');
});

t.test('a refused password is remembered per device and address, most recent kept', async (t) => {
  const throttle = new LoginThrottle({ maxFailuresPerPair: 3, maxFailedIdsPerAddress: 0, windowMs: 60_000 });
  const stale = LoginThrottle.digest('scrypt$hash-1', Buffer.from('old'));
  throttle.failed('10.0.0.1', 'dev-a', 1, stale);
  for (let i = 0; i < 100; i++) {
    throttle.failed('10.0.0.1', 'dev-a', 2 + i, LoginThrottle.digest('scrypt$hash-1', Buffer.from(`guess-${i}`)));
    throttle.failed('10.0.0.1', 'dev-a', 2 + i, stale);
  }
  t.ok(throttle.isKnownBad('10.0.0.1', 'dev-a', stale), 'the stale password stays known among many guesses');
  t.notOk(throttle.isKnownBad('10.0.0.2', 'dev-a', stale), 'per address');
  t.notOk(
    throttle.isKnownBad('10.0.0.1', 'dev-a', LoginThrottle.digest('scrypt$hash-2', Buffer.from('old'))),
    'new credentials make old digests useless',
  );
  t.equal(throttle.failed('10.0.0.1', 'dev-b', 200), true, 'a fresh pair is logged');
  throttle.failed('10.0.0.1', 'dev-b', 201);
  throttle.failed('10.0.0.1', 'dev-b', 202);
  t.equal(throttle.failed('10.0.0.1', 'dev-b', 203), false, 'past its limit it is not');
});
