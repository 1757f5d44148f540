// The fleet program as a user starts it: bad settings anywhere in the tree
// (top level, meetings, OTA) are all listed at once and nothing starts.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

t.test(
  'npm start with bad settings in three sections: exit 2, every problem listed, no registry created',
  async (t) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'diemcau-fleet-main-'));
    t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'fleet/src/main.ts')], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        DIEMCAU_DATA_DIR: dir,
        DIEMCAU_HOST: '127.0.0.1',
        DIEMCAU_HTTP_PORT: 'eighty',
        DIEMCAU_MQTT_PORT: '0',
        DIEMCAU_MEETING_PLAN_LEAD_MIN: '-1',
        DIEMCAU_OTA_PUBLIC_URL: 'fleet.local',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    t.teardown(() => void child.kill('SIGKILL'));
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const code = await new Promise<number | null>((resolve) => {
      const timer = setTimeout(() => resolve(null), 60_000);
      child.on('exit', (c) => {
        clearTimeout(timer);
        resolve(c);
      });
    });
    t.equal(code, 2, stderr);
    t.match(stderr, /invalid configuration/);
    t.match(stderr, /httpPort \(DIEMCAU_HTTP_PORT\)/);
    t.match(stderr, /meetings\.planLeadMin \(DIEMCAU_MEETING_PLAN_LEAD_MIN\)/);
    t.match(stderr, /ota\.publicUrl \(DIEMCAU_OTA_PUBLIC_URL\)/);
    t.same(fs.readdirSync(dir), [], 'nothing written: the fleet never started');
  },
);
