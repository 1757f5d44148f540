// The fleet program as a user starts it: bad settings anywhere in the tree
// (top level, meetings, OTA) are all listed at once and nothing starts.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { runToExit } from '../../../shared/test/helpers/program.js';

t.test(
  'npm start with bad settings in three sections: exit 2, every problem listed, no registry created',
  async (t) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'diemcau-fleet-main-'));
    t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
    const { code, stderr } = await runToExit(t, 'fleet/src/main.ts', {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      DIEMCAU_DATA_DIR: dir,
      DIEMCAU_HOST: '127.0.0.1',
      DIEMCAU_HTTP_PORT: 'eighty',
      DIEMCAU_MQTT_PORT: '0',
      DIEMCAU_MEETING_PLAN_LEAD_MIN: '-1',
      DIEMCAU_OTA_PUBLIC_URL: 'fleet.local',
    });
    t.equal(code, 2, stderr);
    t.match(stderr, /invalid configuration/);
    t.match(stderr, /httpPort \(DIEMCAU_HTTP_PORT\)/);
    t.match(stderr, /meetings\.planLeadMin \(DIEMCAU_MEETING_PLAN_LEAD_MIN\)/);
    t.match(stderr, /ota\.publicUrl \(DIEMCAU_OTA_PUBLIC_URL\)/);
    t.same(fs.readdirSync(dir), [], 'nothing written: the fleet never started');
  },
);
