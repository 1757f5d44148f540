// The readiness check inside a real fleet (buildFleet, SQLite, the embedded
// broker) with boxes that are real MQTT clients: a red site's alert closes
// when a new check finds it green; a box that never answers reads red ("no
// answer") after the timeout; a report for no current request changes nothing.
import t from 'tap';
import {
  deviceTopic,
  readinessReportCodec,
  readinessRequestCodec,
  type ReadinessReport,
  type ReadinessRequest,
} from '@diemcau/shared';
import { startSimFleet } from '../ui/helpers/sim-sites.js';

interface Board {
  counts: Record<string, number>;
  sites: { siteId: string; colour: string; reasons: { code: string; vi: string }[] }[];
}

const report = (req: ReadinessRequest, cameraOk: boolean): ReadinessReport => ({
  v: 1,
  requestId: req.requestId,
  meetingId: req.meetingId,
  startedAt: new Date().toISOString(),
  finishedAt: new Date().toISOString(),
  camera: cameraOk ? { state: 'ok' } : { state: 'missing', reason: { code: 'none-found', message: 'no camera' } },
  microphone: { state: 'ok' },
  display: { state: 'ok' },
  probe: null,
});

async function until<T>(what: string, fn: () => Promise<T | undefined | false>, ms = 60_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

t.test(
  'red opens an alert, green after a new check closes it; a silent box reads red; strays are dropped',
  async (t) => {
    // The core's address is known (its probe is not run by these boxes: they report no probe).
    const sf = await startSimFleet({
      readiness: { answerTimeoutSec: 10 },
      meetings: { coreSignalUrl: 'http://127.0.0.1:9' },
    });
    t.teardown(() => sf.close());
    const { relayGroups } = await sf.api<{ relayGroups: { siteIds: string[] }[] }>('GET', '/api/v1/hierarchy');
    const [chair, fixed, silent] = sf.sites
      .filter((s) => s.parentId === null && !relayGroups.some((g) => g.siteIds.includes(s.id)))
      .slice(0, 3)
      .map((s) => s.id) as [string, string, string];
    await sf.online([chair, fixed, silent]);

    // The chair's box answers sound; the other's camera is missing until someone plugs it in.
    let plugged = false;
    const requests: ReadinessRequest[] = [];
    for (const siteId of [chair, fixed]) {
      const dev = sf.devices.get(siteId)!;
      dev.client.on('message', (topic, payload) => {
        if (!topic.endsWith('/readiness')) return;
        const req = readinessRequestCodec.decode(payload.toString());
        if (!req.ok) return;
        requests.push(req.value);
        void dev.client.publishAsync(
          deviceTopic(dev.deviceId, 'readiness-report'),
          readinessReportCodec.encode(report(req.value, siteId === chair || plugged)),
          { qos: 1 },
        );
      });
      await dev.client.subscribeAsync(deviceTopic(dev.deviceId, 'readiness'), { qos: 1 });
    }
    const meeting = await sf.api<{ id: string }>('POST', '/api/v1/meetings', {
      title: 'Họp sẵn sàng',
      chairSiteId: chair,
      siteIds: [fixed, silent],
      startsAt: new Date(Date.now() + 20 * 60_000).toISOString(),
      durationMin: 30,
    });
    const board = () => sf.api<Board>('GET', `/api/v1/meetings/${meeting.id}/readiness`);
    const openAlerts = async () =>
      (
        await sf.api<{ items: { id: number; type: string; siteId: string }[] }>('GET', '/api/v1/alerts?state=open')
      ).items
        .filter((a) => a.type === 'site-not-ready')
        .map((a) => a.siteId)
        .sort();

    const first = await until('the missing camera to read red', async () => {
      const b = await board();
      return b.sites.find((s) => s.siteId === fixed)?.colour === 'red' ? b : undefined;
    });
    t.same(
      first.sites.find((s) => s.siteId === fixed)!.reasons.map((r) => r.vi),
      ['Camera không tìm thấy'],
    );
    t.same(await openAlerts(), [fixed]);

    // A report for a request the fleet never made: dropped, the board unchanged.
    const stray = sf.devices.get(fixed)!;
    await stray.client.publishAsync(
      deviceTopic(stray.deviceId, 'readiness-report'),
      readinessReportCodec.encode(report({ ...requests[0]!, requestId: 'not-a-request-of-ours' }, true)),
      { qos: 1 },
    );

    // The silent box: red after the answer timeout, with its own alert.
    const silentRow = await until(
      'the silent box to read red',
      async () => (await board()).sites.find((s) => s.siteId === silent && s.colour === 'red'),
      40_000,
    );
    t.same(
      silentRow.reasons.map((r) => r.code),
      ['no-answer'],
    );
    t.same(await openAlerts(), [fixed, silent].sort());
    t.equal((await board()).sites.find((s) => s.siteId === fixed)!.colour, 'red', 'the stray report changed nothing');

    // The camera is plugged in; an operator asks again: green, and its alert closes.
    plugged = true;
    const again = await sf.api<Board>('POST', `/api/v1/meetings/${meeting.id}/readiness`, {});
    t.equal(again.sites.find((s) => s.siteId === fixed)!.colour, 'pending', 'a new round starts pending');
    await until('the fixed site to read green', async () =>
      (await board()).sites.find((s) => s.siteId === fixed && s.colour === 'green'),
    );
    await until('its alert to close', async () => !(await openAlerts()).includes(fixed));
  },
);
