// A fleet out of file descriptors (a storm past its limit) loses the
// connections it cannot accept and goes on serving. (libuv closes what it
// cannot accept by itself; any other accept error is logged by the broker,
// where it used to be an unhandled 'error' event, which ends the process.)
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { ROOT } from '../../../shared/test/helpers/program.js';
import { RawClient } from './raw-client.js';

const FD_LIMIT = 160;
const CONNECTIONS = 250;

t.test('past its descriptor limit the broker closes what it cannot accept and keeps serving', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'diemcau-accept-error-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const fleet = spawn(
    'bash',
    ['-c', `ulimit -n ${FD_LIMIT} && exec "$0" --import tsx fleet/src/main.ts`, process.execPath],
    {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        DIEMCAU_DATA_DIR: dir,
        DIEMCAU_HOST: '127.0.0.1',
        DIEMCAU_HTTP_PORT: '0',
        DIEMCAU_MQTT_PORT: '0',
        DIEMCAU_MQTT_MAX_CONNECTIONS_PER_ADDRESS: '0',
      },
    },
  );
  t.teardown(() => {
    if (fleet.exitCode === null) fleet.kill('SIGKILL');
  });
  const lines: Array<Record<string, unknown>> = [];
  let stderr = '';
  fleet.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  let rest = '';
  fleet.stdout.setEncoding('utf8').on('data', (d: string) => {
    const parts = (rest + d).split('\n');
    rest = parts.pop() ?? '';
    for (const l of parts) {
      try {
        lines.push(JSON.parse(l) as Record<string, unknown>);
      } catch {
        // not a log line
      }
    }
  });
  const logged = async (msg: RegExp, ms: number): Promise<Record<string, unknown> | undefined> => {
    const end = Date.now() + ms;
    while (Date.now() < end && fleet.exitCode === null) {
      const hit = lines.find((l) => msg.test(String(l.msg)));
      if (hit) return hit;
      await new Promise((r) => setTimeout(r, 50));
    }
    return lines.find((l) => msg.test(String(l.msg)));
  };
  const up = await logged(/^fleet listening$/, 60_000);
  t.ok(up, `the fleet started${up ? '' : `: ${stderr.slice(-2000)}`}`);
  if (!up) return;
  const mqttPort = Number(up.mqttPort);
  const httpPort = Number(up.httpPort);

  const sockets: net.Socket[] = [];
  t.teardown(() => {
    for (const s of sockets) s.destroy();
  });
  const closed = Array.from(
    { length: CONNECTIONS },
    () =>
      new Promise<void>((resolve) => {
        const s = net.connect(mqttPort, '127.0.0.1');
        s.on('error', () => undefined).on('close', () => resolve());
        sockets.push(s);
      }),
  );
  // More connections than descriptors: some are closed at once, none crashes the fleet.
  const cut = await Promise.race([
    Promise.race(closed).then(() => true),
    new Promise<boolean>((r) => setTimeout(() => r(false), 20_000)),
  ]);
  t.ok(cut, 'connections past the limit are closed');
  await new Promise((r) => setTimeout(r, 500));
  t.equal(fleet.exitCode, null, 'the fleet is still running');

  for (const s of sockets) s.destroy();
  // Once descriptors are free again, the API answers and a login is answered.
  const health = await fetch(`http://127.0.0.1:${httpPort}/healthz`, { signal: AbortSignal.timeout(10_000) });
  t.equal(health.status, 200, 'the API answers');
  const c = await RawClient.open(mqttPort);
  t.teardown(() => c.close());
  const answer = await c.login({ clientId: 'dev-unknown', username: 'dev-unknown', password: Buffer.from('nope') });
  t.equal(answer, 4, 'the broker answers a new login (bad credentials)');
  t.equal(fleet.exitCode, null);
});
