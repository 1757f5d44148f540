// The fleet's plugins take their section of the settings tree, never the
// environment: main.ts is its only reader. A fleet is built with settings in
// the tree while the environment holds conflicting (and invalid) values for
// the meetings, OTA and dashboard sections; the tree must win.
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { startTestFleet } from '../helpers/fleet.js';

const root = mkdtempSync(join(tmpdir(), 'diemcau-settings-'));
t.teardown(() => rmSync(root, { recursive: true, force: true }));
const bundle = (name: string): string => {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'index.html'), `<!doctype html><title>${name}</title>`);
  return dir;
};

const CONFLICTING: Record<string, string> = {
  DIEMCAU_UI_DIR: bundle('from-env'),
  DIEMCAU_MEETING_MAX_SITES: '1', // below the schema's minimum: read, it would stop the fleet
  DIEMCAU_CORE_SIGNAL_URL: 'not a url',
  DIEMCAU_OTA_TICK_MS: 'soon',
  DIEMCAU_OTA_PUBLIC_URL: 'fleet.local',
};

t.test('the tree wins over the environment in the meetings, OTA and dashboard plugins', async (t) => {
  const saved = Object.fromEntries(Object.keys(CONFLICTING).map((k) => [k, process.env[k]]));
  Object.assign(process.env, CONFLICTING);
  t.teardown(() => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });
  const { fleet, api } = await startTestFleet(t, {
    ui: { buildDir: bundle('from-tree') },
    meetings: { maxSitesPerMeeting: 2 },
    ota: { tickMs: 0 },
  });
  t.equal(fleet.config.meetings.maxSitesPerMeeting, 2);
  t.equal(fleet.config.meetings.coreSignalUrl, undefined, 'the variable is not in the tree');
  const page = await api('GET', '/', { token: null });
  t.equal(page.status, 200);
  t.match(String(page.body), '<title>from-tree</title>', "the dashboard is served from the tree's directory");
});
