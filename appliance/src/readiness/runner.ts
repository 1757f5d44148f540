// The readiness check on the box: the fleet's retained request in, at its
// slot the room's self-test and the probe to the upstream edge, the report
// out (durable: a box that loses the fleet for a moment still delivers it).
// One request at a time: a newer one replaces a waiting one; a request is run
// once per agent process, and never after it expires (the meeting started).
import type { ChannelRouter } from '../agent/router.js';
import {
  readinessReportCodec,
  readinessRequestCodec,
  type DevicePublishChannel,
  type ProbeResult,
  type ProbeTarget,
  type ReadinessReport,
  type ReadinessRequest,
  type SelfTestResult,
} from '@diemcau/shared';

export interface ReadinessDeps {
  router: Pick<ChannelRouter, 'on'>;
  publishDurable(channel: DevicePublishChannel, payload: string): Promise<void>;
  selfTest(): Promise<SelfTestResult>;
  probe(target: ProbeTarget): Promise<ProbeResult>;
  /** The picture the self-test's camera check took, if any. */
  snapshot?(): { w: number; h: number; grey: Uint8Array } | null;
  log: { info(o: object, m?: string): void; warn(o: object, m?: string): void };
  now?: () => number;
}

export interface ReadinessRunner {
  readonly counters: { run: number; rejected: number; expired: number; duplicate: number };
  /** Resolves when the check in progress (if any) has reported. */
  idle(): Promise<void>;
  close(): void;
}

const part = (p: Pick<SelfTestResult['camera'], 'state' | 'reason'>): ReadinessReport['camera'] =>
  p.reason ? { state: p.state, reason: p.reason } : { state: p.state };

export function startReadiness(d: ReadinessDeps): ReadinessRunner {
  const now = d.now ?? Date.now;
  const counters = { run: 0, rejected: 0, expired: 0, duplicate: 0 };
  const done = new Set<string>();
  let waiting: { id: string; timer: NodeJS.Timeout } | undefined;
  let running: Promise<void> = Promise.resolve();
  let closed = false;

  async function run(req: ReadinessRequest): Promise<void> {
    if (Date.parse(req.expiresAt) <= now()) {
      counters.expired += 1;
      return d.log.info({ requestId: req.requestId }, 'readiness request expired; not run');
    }
    counters.run += 1;
    const startedAt = new Date(now()).toISOString();
    // The room and the link at once: the self-test captures locally, the probe crosses the network.
    const [test, probe] = await Promise.all([d.selfTest(), req.probe ? d.probe(req.probe) : Promise.resolve(null)]);
    const report: ReadinessReport = {
      v: 1,
      requestId: req.requestId,
      meetingId: req.meetingId,
      startedAt,
      finishedAt: new Date(now()).toISOString(),
      camera: part(test.camera),
      microphone: part(test.microphone),
      display: part(test.display),
      probe,
    };
    const frame = d.snapshot?.() ?? null;
    if (frame && frame.grey.length === frame.w * frame.h)
      report.snapshot = { w: frame.w, h: frame.h, grey: Buffer.from(frame.grey).toString('base64') };
    d.log.info(
      { requestId: req.requestId, ok: test.ok, loss: probe?.lossRate, rttMs: probe?.rttMsP50 },
      'readiness check done',
    );
    await d.publishDurable('readiness-report', readinessReportCodec.encode(report));
  }

  const off = d.router.on('readiness', (payload) => {
    const decoded = readinessRequestCodec.decode(payload);
    if (!decoded.ok) {
      counters.rejected += 1;
      return d.log.warn({ err: decoded.error.message }, 'readiness request rejected');
    }
    const req = decoded.value;
    if (done.has(req.requestId) || waiting?.id === req.requestId) {
      counters.duplicate += 1;
      return;
    }
    if (waiting) clearTimeout(waiting.timer);
    const delay = Math.max(0, Date.parse(req.runAt) - now());
    const timer = setTimeout(() => {
      waiting = undefined;
      done.add(req.requestId);
      running = running
        .then(() => (closed ? undefined : run(req)))
        .catch((err: unknown) => d.log.warn({ err, requestId: req.requestId }, 'readiness check failed'));
    }, delay);
    waiting = { id: req.requestId, timer };
    d.log.info({ requestId: req.requestId, meetingId: req.meetingId, inMs: delay }, 'readiness check scheduled');
  });

  return {
    counters,
    idle: () => running,
    close() {
      closed = true;
      off();
      if (waiting) clearTimeout(waiting.timer);
    },
  };
}
