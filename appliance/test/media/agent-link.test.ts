import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import t from 'tap';
import { deviceTopic, mediaStatsCodec, presenceCodec, type MediaPlan } from '@diemcau/shared';
import { Agent } from '../../src/agent/index.js';
import { loadConfig } from '../../src/config.js';
import { edgeLinkFromEnv, linkEdge } from '../../src/media/agent-link.js';
import { writeKioskLink } from '../../src/media/kiosk-link.js';
import { SimulatedCollector } from '../../src/telemetry/index.js';
import { startBroker, type Published } from '../helpers/broker.js';
import { startEnrolServer } from '../helpers/enrol-server.js';
import { spawnEdge, token, until } from './helpers.js';

// A real agent session (aedes broker, enrolment over HTTP) beside a real edge
// process: the plan the fleet retains on the broker reaches the edge, the
// edge's stats come back on 'media-stats', and the birth carries mediaUrl.

t.test('config: explicit, from the edge env file, none for simulated boxes, problems listed', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'diemcau-edgecfg-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'edge.env');
  fs.writeFileSync(file, '# edge\nDIEMCAU_EDGE_PORT=7500\nDIEMCAU_EDGE_ADMIN_TOKEN="abcdefghijklmnopqrst"\n');
  t.same(edgeLinkFromEnv({ DIEMCAU_EDGE_ENV_FILE: file, DIEMCAU_EDGE_PUBLIC_URL: 'https://10.1.2.3:7443/' }, 'real'), {
    kind: 'edge',
    url: 'http://127.0.0.1:7500',
    adminToken: 'abcdefghijklmnopqrst',
    publicUrl: 'https://10.1.2.3:7443',
  });
  t.equal(edgeLinkFromEnv({}, 'simulated').kind, 'none');
  t.equal(edgeLinkFromEnv({ DIEMCAU_EDGE: 'none' }, 'real').kind, 'none');
  // The schema's problems come first (all of them); the env file is read once the values are valid.
  const bad = edgeLinkFromEnv({ DIEMCAU_EDGE_URL: 'edge.local', DIEMCAU_EDGE_PUBLIC_URL: 'ftp://x' }, 'real');
  t.equal(bad.kind, 'invalid');
  t.match(bad.kind === 'invalid' ? bad.problems.join('\n') : '', /DIEMCAU_EDGE_URL[\s\S]*DIEMCAU_EDGE_PUBLIC_URL/);
  const noToken = edgeLinkFromEnv({ DIEMCAU_EDGE_ENV_FILE: path.join(dir, 'missing.env') }, 'real');
  t.match(noToken.kind === 'invalid' ? noToken.problems.join('\n') : '', /DIEMCAU_EDGE_ADMIN_TOKEN: not set, nor in/);
});

t.test('a plan retained on the broker reaches the edge; stats go out; mediaUrl in the birth', async (t) => {
  const credentials = new Map<string, string>();
  const published: Published[] = [];
  const broker = await startBroker({ credentials, published });
  const enrolServer = await startEnrolServer({ mqttUrl: () => broker.url, credentials });
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'diemcau-agentedge-'));
  t.teardown(async () => {
    await broker.close();
    await enrolServer.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });
  // Enrol first: the box's edge is named after its device id.
  const env = {
    DIEMCAU_FLEET_URL: enrolServer.url,
    DIEMCAU_DATA_DIR: dataDir,
    DIEMCAU_HARDWARE: 'simulated',
    DIEMCAU_KEEPALIVE_SEC: '5',
    DIEMCAU_TELEMETRY_INTERVAL_SEC: '60',
  };
  const log = pino({ level: 'silent' });
  const start = (mediaUrl?: string): Promise<Agent> =>
    Agent.start({
      config: loadConfig({ env: { ...env, DIEMCAU_ENROLL_TOKEN: enrolServer.mint('xa-a') } }),
      log,
      collector: new SimulatedCollector('test'),
      agentVersion: '9.9.9-test',
      peripherals: async () => ({ camera: 'ok', microphone: 'ok', display: 'ok', gpio: 'missing' }),
      ...(mediaUrl ? { mediaUrl } : {}),
    });
  const first = await start();
  const deviceId = first.identity.deviceId;
  await first.close({ graceful: true });
  published.length = 0; // only the second session's messages from here

  const edge = await spawnEdge({ edgeId: deviceId, hardware: 'simulated' });
  t.teardown(() => edge.kill());
  const config = edgeLinkFromEnv(
    {
      DIEMCAU_EDGE_URL: edge.url,
      DIEMCAU_EDGE_ADMIN_TOKEN: edge.adminToken,
      DIEMCAU_EDGE_PUBLIC_URL: 'http://10.9.8.7:7443',
    },
    'simulated',
  );
  t.equal(config.kind, 'edge');
  const agent = await start(config.kind === 'edge' ? (config.publicUrl ?? undefined) : undefined);
  t.teardown(() => agent.close({ graceful: false }));
  const link = linkEdge({ agent, config, log, statsIntervalMs: 200 });
  t.teardown(() => link.close());

  const isBirth = (p: Published): boolean =>
    p.topic === deviceTopic(deviceId, 'presence') && p.payload.includes('"online"');
  await broker.waitFor((all) => all.some(isBirth), 'birth');
  const birth = presenceCodec.decode(published.find(isBirth)!.payload);
  t.equal(birth.ok ? birth.value.mediaUrl : undefined, 'http://10.9.8.7:7443', 'the birth names the edge');

  // The kiosk's link state follows the real session.
  const kioskDir = path.join(dataDir, 'kiosk');
  t.teardown(writeKioskLink({ dir: kioskDir, session: agent.session, connected: agent.connected, log }));
  await until('link.json says connected', async () =>
    fs.readFileSync(path.join(kioskDir, 'link.json'), 'utf8').includes('"connected":true'),
  );

  t.equal(link.inMeeting(), false, 'no plan yet: not in a meeting (an OS update may start)');
  const plan: MediaPlan = {
    v: 1,
    revision: 3,
    edgeId: deviceId,
    meetings: [
      {
        meetingId: 'm-agent-1',
        title: 'giao ban',
        role: 'host',
        upstream: null,
        acceptToken: token(),
        localSiteId: 'xa-a',
        chairSiteId: 'xa-a',
        floorSiteId: null,
        rollCallSiteId: null,
        mutedAll: false,
        state: 'live',
      },
    ],
  };
  await broker.publish(deviceTopic(deviceId, 'media'), JSON.stringify(plan), true);
  const stats = await until('the edge to run the meeting', async () => {
    const s = await edge.stats();
    return s.revision === 3 && s.meetings.some((m) => m.meetingId === 'm-agent-1') ? s : null;
  });
  t.equal(stats.edgeId, deviceId);
  t.equal(link.inMeeting(), true, 'a live meeting in the plan: in a meeting (an OS update waits)');
  // The agent relays the edge's stats to the fleet.
  await broker.waitFor((all) => all.some((p) => p.topic === deviceTopic(deviceId, 'media-stats')), 'media-stats');
  const sent = mediaStatsCodec.decode(published.find((p) => p.topic === deviceTopic(deviceId, 'media-stats'))!.payload);
  t.ok(sent.ok && sent.value.meetings.some((m) => m.meetingId === 'm-agent-1'));

  // A malformed plan is refused in the agent, counted; the edge keeps the last good one.
  await broker.publish(deviceTopic(deviceId, 'media'), '{"v":1,"revision":"x"}', true);
  await until('the bad plan to be refused', async () => (link.client!.refused.size > 0 ? true : null));
  t.equal((await edge.stats()).revision, 3);
  t.equal(link.inMeeting(), true, 'the refused plan changes nothing');
  await broker.publish(deviceTopic(deviceId, 'media'), JSON.stringify({ ...plan, revision: 4, meetings: [] }), true);
  await until('the plan without meetings', async () => (link.inMeeting() ? null : true));
  t.pass('the meeting ended in the plan: no longer in a meeting');
});
