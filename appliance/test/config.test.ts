import path from 'node:path';
import t from 'tap';
import { loadConfig, parseFlags } from '../src/config.js';

t.test('defaults from the schema', async (t) => {
  const c = loadConfig({ env: { DIEMCAU_FLEET_URL: 'http://fleet.local:8080/' } });
  t.equal(c.fleetUrl, 'http://fleet.local:8080', 'trailing slash trimmed');
  t.equal(c.hardware, 'real');
  t.equal(c.keepaliveSec, 10);
  t.equal(c.telemetryIntervalSec, 10);
  t.equal(c.queueFsync, true, 'real boxes fsync');
  t.equal(c.dataDir, '/var/lib/diemcau');
  t.equal(loadConfig({ env: { DIEMCAU_HARDWARE: 'simulated' } }).queueFsync, false, 'simulated fleets do not');
});

t.test('flags beat environment, environment beats the file', async (t) => {
  const c = loadConfig({
    env: { DIEMCAU_KEEPALIVE_SEC: '20', DIEMCAU_DATA_DIR: 'rel/dir' },
    argv: ['--keepalive', '30', '--hardware=simulated'],
    file: { keepaliveSec: 40, telemetryIntervalSec: 5, enrollToken: 'from-file-token' },
  });
  t.equal(c.keepaliveSec, 30);
  t.equal(c.hardware, 'simulated');
  t.equal(c.telemetryIntervalSec, 5);
  t.equal(c.enrollToken, 'from-file-token');
  t.equal(c.dataDir, path.resolve('rel/dir'), 'paths are absolute');
});

t.test('every problem is listed at once', async (t) => {
  try {
    loadConfig({
      env: {
        DIEMCAU_FLEET_URL: 'ftp://x',
        DIEMCAU_HARDWARE: 'virtual',
        DIEMCAU_KEEPALIVE_SEC: '1',
        DIEMCAU_QUEUE_FSYNC: 'maybe',
      },
      argv: ['--nope', 'x', 'stray'],
      file: { colour: 'blue' },
    });
    t.fail('should throw');
  } catch (err) {
    const e = err as { code: string; details: { problems: string[] } };
    t.equal(e.code, 'APPL_ERR_CONFIG');
    t.equal(e.details.problems.length, 7, e.details.problems.join('\n'));
    t.match(e.details.problems.join('\n'), /fleetUrl \(DIEMCAU_FLEET_URL\): .*https\?/);
    t.match(e.details.problems.join('\n'), /DIEMCAU_HARDWARE/);
    t.match(e.details.problems.join('\n'), /keepaliveSec \(DIEMCAU_KEEPALIVE_SEC\): .*greater or equal to 2/);
    t.match(e.details.problems.join('\n'), /unknown flag --nope/);
    t.match(e.details.problems.join('\n'), /unexpected argument "stray"/);
    t.match(e.details.problems.join('\n'), /unknown key "colour"/);
  }
});

t.test('flag syntax', async (t) => {
  const problems: string[] = [];
  const m = parseFlags(['--a', '1', '--b=2', '--c'], new Set(['a', 'b', 'c']), problems);
  t.same(
    [...m],
    [
      ['a', '1'],
      ['b', '2'],
      ['c', 'true'],
    ],
  );
  t.same(problems, []);
});
