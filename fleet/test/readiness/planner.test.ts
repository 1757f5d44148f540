// The readiness planner and grader: pure, no network.
import t from 'tap';
import type { ReadinessReport } from '@diemcau/shared';
import { readinessConfig } from '../../src/readiness/config.js';
import { gradeReport } from '../../src/readiness/grade.js';
import { peakConcurrency, planSlots, probeAddress, type SitePath } from '../../src/readiness/planner.js';

const cfg = readinessConfig();
const up = (edgeId: string) => ({ edgeId, host: '10.0.0.1', port: 4443, token: 'token-0123456789abcdef' });

t.test('210 sites on the core: never more than probesPerUpstream at once, all done well inside the lead', async (t) => {
  const paths: SitePath[] = Array.from({ length: 210 }, (_, i) => ({
    siteId: `s${String(i).padStart(3, '0')}`,
    deviceId: `d${i}`,
    upstream: up('core'),
  }));
  const slots = planSlots(paths, 0, cfg);
  t.equal(slots.length, 210);
  t.equal(peakConcurrency(slots, cfg.probeMs), cfg.probesPerUpstream);
  const last = Math.max(...slots.map((s) => s.runAt)) + cfg.probeMs;
  t.ok(last < cfg.leadMin * 60_000, `last probe ends ${last} ms after the first starts`);
  t.equal(slots[0]!.probe!.rateKbps, cfg.probeRateKbps);
});

t.test('sites under different upstreams probe at the same time; the host and boxless sites get no probe', async (t) => {
  const paths: SitePath[] = [
    { siteId: 'a', deviceId: 'da', upstream: up('hub1') },
    { siteId: 'b', deviceId: 'db', upstream: up('hub1') },
    { siteId: 'c', deviceId: 'dc', upstream: up('hub1') },
    { siteId: 'd', deviceId: 'dd', upstream: up('hub2') },
    { siteId: 'h', deviceId: 'dh', upstream: null },
    { siteId: 'x', deviceId: null, upstream: up('hub2') },
  ];
  const slots = new Map(planSlots(paths, 1000, cfg).map((s) => [s.siteId, s]));
  t.equal(slots.size, 5, 'the boxless site has no slot');
  t.equal(slots.get('a')!.runAt, 1000);
  t.equal(slots.get('b')!.runAt, 1000);
  t.equal(slots.get('c')!.runAt, 1000 + cfg.probeMs + cfg.slotGapMs, 'third towards hub1 waits a slot');
  t.equal(slots.get('d')!.runAt, 1000, 'hub2 has its own budget');
  t.equal(slots.get('h')!.probe, null);
});

t.test('probe address from a signalling URL', async (t) => {
  t.same(probeAddress('http://10.1.2.3:4443'), { host: '10.1.2.3', port: 4443 });
  t.same(probeAddress('https://edge.example'), { host: 'edge.example', port: 443 });
  t.same(probeAddress('http://[fd00::1]:9000/x'), { host: 'fd00::1', port: 9000 });
  t.equal(probeAddress('not a url'), null);
});

const report = (over: Partial<ReadinessReport> = {}): ReadinessReport => ({
  v: 1,
  requestId: 'r1',
  meetingId: 'm1',
  startedAt: '2026-01-01T00:00:00.000Z',
  finishedAt: '2026-01-01T00:00:03.000Z',
  camera: { state: 'ok' },
  microphone: { state: 'ok' },
  display: { state: 'ok' },
  probe: {
    edgeId: 'core',
    sent: 625,
    received: 625,
    lossRate: 0,
    rttMsP50: 12,
    rttMsP95: 20,
    throughputKbps: 3000,
    rateKbps: 3000,
    durationMs: 2000,
  },
  ...over,
});
const edge = { vi: 'máy chủ tỉnh', en: "the province's core" };
const probe = (p: Partial<NonNullable<ReadinessReport['probe']>>) => ({ probe: { ...report().probe!, ...p } });

t.test('grades: thresholds and reasons in both languages', async (t) => {
  t.same(gradeReport(report(), cfg, edge), { colour: 'green', reasons: [] });

  const black = gradeReport(report({ camera: { state: 'fault', reason: { code: 'black', message: 'x' } } }), cfg, edge);
  t.equal(black.colour, 'red');
  t.equal(black.reasons[0]!.vi, 'Camera cho hình đen');
  t.equal(black.reasons[0]!.en, 'Camera gives a black picture');

  const lossy = gradeReport(report(probe({ lossRate: 0.03, received: 606, throughputKbps: 2910 })), cfg, edge);
  t.equal(lossy.colour, 'amber', '3 % loss is amber');
  t.match(lossy.reasons[0]!, { code: 'link-loss', level: 'amber', vi: /Mất 3 % gói tin/, en: /3 % packet loss/ });

  t.equal(gradeReport(report(probe({ lossRate: 0.06, throughputKbps: 2820 })), cfg, edge).colour, 'red');
  t.equal(gradeReport(report(probe({ rttMsP50: 200 })), cfg, edge).colour, 'amber');
  t.equal(gradeReport(report(probe({ rttMsP50: 450 })), cfg, edge).colour, 'red');
  t.equal(gradeReport(report(probe({ throughputKbps: 2000 })), cfg, edge).colour, 'red', '67 % carried');
  const gone = gradeReport(report(probe({ received: 0, lossRate: 1, throughputKbps: 0 })), cfg, edge);
  t.same(
    gone.reasons.map((r) => r.code),
    ['link-unreachable'],
  );
  t.equal(gone.reasons[0]!.vi, 'Không tới được máy chủ tỉnh');
  t.equal(gradeReport(report({ display: { state: 'unknown' } }), cfg, edge).colour, 'amber', 'busy is amber');
  t.equal(gradeReport(report({ probe: null }), cfg, edge).colour, 'green', 'the host has no link to test');
});
