// restart-media through a systemctl stand-in (a real process the runner
// starts), or on balena through the supervisor's HTTP API (a local server
// answering as the supervisor's restart-service endpoint does: no balenaOS
// runs here), and the identify card file the kiosk page reads.
import t from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { ProcessRunner } from '../../src/devices/process-runner.js';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileKiosk, mediaRestarter, outletsFromEnv, systemdMedia } from '../../src/commands/outlets.js';
import { createHandlers } from '../../src/commands/handlers.js';
import { createSettingsStore } from '../../src/commands/settings.js';
import type { Command } from '@diemcau/shared';

const log = pino({ level: 'silent' });

function fakeSystemctl(dir: string, exitCode: number): { bin: string; calls: () => string[] } {
  const record = path.join(dir, 'calls.txt');
  const bin = path.join(dir, 'systemctl');
  fs.writeFileSync(
    bin,
    `#!/bin/sh\necho "$@" >> ${JSON.stringify(record)}\n[ ${exitCode} -eq 0 ] || echo "Job for unit failed" >&2\nexit ${exitCode}\n`,
    { mode: 0o755 },
  );
  return { bin, calls: () => (fs.existsSync(record) ? fs.readFileSync(record, 'utf8').trim().split('\n') : []) };
}

const cmd = (type: Command['type']): Command => ({
  v: 1,
  id: `c-${type}`,
  type,
  params: {},
  issuedAt: new Date().toISOString(),
  expiresAt: new Date(Date.now() + 60_000).toISOString(),
});

t.test('restart-media asks systemd to restart the edge unit; a failed restart fails the command', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'diemcau-outlets-'));
  const runner = new ProcessRunner();
  t.teardown(() => {
    runner.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const ok = fakeSystemctl(dir, 0);
  const deps = (media: ReturnType<typeof systemdMedia>) =>
    createHandlers({
      hardware: {
        power: { reboot: async () => {}, restartAgent: async () => {}, onRequest: () => () => {} },
        selfTest: async () => {
          throw new Error('unused');
        },
        identify: async () => ({ tv: 'unsupported', led: false }),
      },
      media,
      kiosk: null,
      site: () => ({ deviceId: 'd', siteName: 's' }),
      settings: createSettingsStore(path.join(dir, 'settings.json')),
      publishHealth: async () => {},
      requestAgentRestart: () => {},
    });
  const { unit, kioskDir } = outletsFromEnv({}, '/var/lib/diemcau');
  t.equal(kioskDir, '/var/lib/diemcau/kiosk');
  t.equal(unit, 'diemcau-edge.service');
  const good = await deps(systemdMedia({ systemctl: ok.bin, unit, runner, log }))['restart-media'](
    cmd('restart-media'),
  );
  t.equal(good.status, 'succeeded');
  t.same(ok.calls(), ['restart diemcau-edge.service']);

  const badDir = fs.mkdtempSync(path.join(dir, 'bad-'));
  const bad = fakeSystemctl(badDir, 1);
  await t.rejects(
    deps(systemdMedia({ systemctl: bad.bin, unit: 'x.service', runner, log }))['restart-media'](cmd('restart-media')),
    'the executor turns this into a failed result',
  );
  t.same(bad.calls(), ['restart x.service']);
  t.match(outletsFromEnv({ DIEMCAU_MEDIA_UNIT: 'edge2.service', DIEMCAU_SYSTEMCTL: '/bin/sc' }, '/d'), {
    unit: 'edge2.service',
    systemctl: '/bin/sc',
  });
});

t.test('on balena, restart-media asks the supervisor to restart the edge service', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'diemcau-outlets-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const calls: Array<{ method: string; url: string; body: string }> = [];
  let answer = 200;
  const supervisor = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      calls.push({ method: req.method ?? '', url: req.url ?? '', body });
      res.writeHead(answer, { 'content-type': 'text/plain' }).end(answer === 200 ? 'OK' : 'Unauthorized');
    });
  });
  await new Promise<void>((r) => supervisor.listen(0, '127.0.0.1', r));
  t.teardown(() => supervisor.close());
  const env = {
    BALENA_SUPERVISOR_ADDRESS: `http://127.0.0.1:${(supervisor.address() as AddressInfo).port}`,
    BALENA_SUPERVISOR_API_KEY: 'k3y',
    BALENA_APP_ID: '1234',
  };
  const outlets = outletsFromEnv({}, '/data');
  t.equal(outlets.balenaService, 'edge', "the compose file's service by default");
  const handlers = createHandlers({
    hardware: {
      power: { reboot: async () => {}, restartAgent: async () => {}, onRequest: () => () => {} },
      selfTest: async () => {
        throw new Error('unused');
      },
      identify: async () => ({ tv: 'unsupported', led: false }),
    },
    media: mediaRestarter(outlets, env, log),
    kiosk: null,
    site: () => ({ deviceId: 'd', siteName: 's' }),
    settings: createSettingsStore(path.join(dir, 'settings.json')),
    publishHealth: async () => {},
    requestAgentRestart: () => {},
  });
  const done = await handlers['restart-media'](cmd('restart-media'));
  t.equal(done.status, 'succeeded');
  t.same(calls, [
    { method: 'POST', url: '/v2/applications/1234/restart-service?apikey=k3y', body: '{"serviceName":"edge"}' },
  ]);

  answer = 401;
  await t.rejects(handlers['restart-media'](cmd('restart-media')), {
    code: 'APPL_ERR_MEDIA',
    message: /refused to restart edge: 401 Unauthorized/,
  });
  supervisor.close();
  await t.rejects(handlers['restart-media'](cmd('restart-media')), {
    code: 'APPL_ERR_MEDIA',
    message: /did not answer/,
  });

  // Without the supervisor's variables (the disk image): systemd, as before.
  const sc = fakeSystemctl(dir, 0);
  await mediaRestarter({ ...outlets, systemctl: sc.bin }, { BALENA_APP_ID: '1234' }, log).restart('test');
  t.same(sc.calls(), ['restart diemcau-edge.service'], 'an incomplete balena environment is not balena');
});

t.test('the identify card file says what to show and until when', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'diemcau-kiosk-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const kiosk = fileKiosk(path.join(dir, 'kiosk'), () => new Date('2026-05-01T08:00:00.000Z'));
  kiosk.showIdentify({ siteName: 'Xã Minh Xuân', code: 'K7QP', ms: 15_000 });
  t.same(JSON.parse(fs.readFileSync(kiosk.file, 'utf8')), {
    v: 1,
    siteName: 'Xã Minh Xuân',
    code: 'K7QP',
    ms: 15_000,
    shownAt: '2026-05-01T08:00:00.000Z',
    until: '2026-05-01T08:00:15.000Z',
  });
  t.equal(fs.statSync(kiosk.file).mode & 0o777, 0o644, 'readable by the kiosk user');
});
