// The readiness check as the fleet runs it: when a scheduled meeting enters
// the lead window, every invited site's box is asked (retained, staggered by
// planner.ts) to check its room and its link; its report is graded
// (grade.ts), kept with the meeting, and a red site opens one alert per site
// and meeting, closed when the site turns green or the meeting ends.
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { readinessRequestCodec, type ReadinessReport, type ReadinessRequest } from '@diemcau/shared';
import type { NewAlert } from '../db/alerts-repo.js';
import type { MeetingPath } from '../meetings/service.js';
import { meetingState, type MeetingRecord } from '../meetings/model.js';
import type { ReadinessConfig } from './config.js';
import { colourOf, gradeReport, NO_ANSWER, NO_BOX, type EdgeLabel, type ReadinessReason } from './grade.js';
import { planSlots, probeAddress, type SitePath } from './planner.js';
import type { ReadinessRepo, ReadinessRow } from './repository.js';

/** A request reaches the box and is queued before the first slot starts. */
const DELIVERY_MS = 2000;

export const READINESS_ALERT = 'site-not-ready';
export const alertKey = (meetingId: string, siteId: string): string => `readiness:${meetingId}:${siteId}`;

export interface ReadinessPorts {
  /** Meetings live now or starting within `withinMin` minutes. */
  upcoming(withinMin: number): Promise<MeetingRecord[]>;
  paths(m: MeetingRecord): Promise<MeetingPath[]>;
  siteName(siteId: string): string | undefined;
  /** The site a device belongs to (the upstream edge's name in the reasons). */
  siteOfDevice(deviceId: string): Promise<string | undefined>;
  coreEdgeId: string;
  /** Retained, QoS 1, on the device's readiness channel. */
  publishRequest(deviceId: string, payload: string): Promise<void>;
  openAlert(a: NewAlert): Promise<unknown>;
  resolveAlert(key: string, resolution: string): Promise<unknown>;
  changed(meetingId: string): void;
}

export interface ReadinessCounters {
  requested: number;
  reported: number;
  unknownReports: number;
  unanswered: number;
}

export class ReadinessService {
  readonly counters: ReadinessCounters = { requested: 0, reported: 0, unknownReports: 0, unanswered: 0 };
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly cfg: ReadinessConfig,
    private readonly repo: ReadinessRepo,
    private readonly ports: ReadinessPorts,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  /** One change at a time: a report and a tick never interleave on the same rows. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn);
    this.chain = run.catch(() => undefined);
    return run;
  }

  rows(meetingId: string): Promise<ReadinessRow[]> {
    return this.repo.forMeeting(meetingId);
  }

  /** Starts checks for meetings entering the lead window, marks silent boxes, closes alerts of ended meetings. */
  tick(): Promise<void> {
    return this.serial(async () => {
      if (this.cfg.leadMin === 0) return;
      const now = this.now();
      const meetings = await this.ports.upcoming(this.cfg.leadMin);
      for (const m of meetings) {
        const rows = await this.repo.forMeeting(m.id);
        if (rows.length === 0 && meetingState(m, now) === 'scheduled') await this.startRound(m);
        else await this.markUnanswered(m, rows, now);
      }
      const current = new Set(meetings.filter((m) => meetingState(m, now) !== 'ended').map((m) => m.id));
      for (const row of await this.repo.withOpenAlerts()) {
        if (current.has(row.meetingId)) continue;
        await this.ports.resolveAlert(alertKey(row.meetingId, row.siteId), 'meeting ended');
        await this.repo.save({ ...row, alertOpen: false });
      }
    });
  }

  /** A new round for a meeting not yet ended (an operator asks again after fixing a room). */
  rerun(m: MeetingRecord): Promise<ReadinessRow[]> {
    return this.serial(async () => {
      await this.startRound(m);
      return this.repo.forMeeting(m.id);
    });
  }

  private async startRound(m: MeetingRecord): Promise<void> {
    const now = this.now();
    const paths = await this.ports.paths(m);
    const before = new Map((await this.repo.forMeeting(m.id)).map((r) => [r.siteId, r]));
    // An upstream whose address is not known yet cannot be probed: the site's
    // room is still checked and the reason says why its link is not.
    const sitePaths: SitePath[] = paths.map((p) => {
      const addr = p.upstream?.signalUrl ? probeAddress(p.upstream.signalUrl) : null;
      return {
        siteId: p.siteId,
        deviceId: p.deviceId,
        upstream: p.upstream && addr ? { edgeId: p.upstream.edgeId, token: p.upstream.token, ...addr } : null,
      };
    });
    const slots = new Map(planSlots(sitePaths, now + DELIVERY_MS, this.cfg).map((s) => [s.siteId, s]));
    const rows: ReadinessRow[] = [];
    const requests: { deviceId: string; request: ReadinessRequest }[] = [];
    for (const p of paths) {
      const slot = slots.get(p.siteId);
      const alertOpen = before.get(p.siteId)?.alertOpen ?? false;
      const base = { meetingId: m.id, siteId: p.siteId, requestedAt: now, reportedAt: null, report: null, alertOpen };
      if (!slot) {
        rows.push({ ...base, deviceId: null, requestId: null, runAt: null, colour: 'red', reasons: [NO_BOX] });
        continue;
      }
      const known: ReadinessReason[] =
        p.upstream && !slot.probe ? [this.unreachable(await this.edgeLabel(p.upstream.edgeId))] : [];
      const requestId = randomUUID();
      rows.push({ ...base, deviceId: slot.deviceId, requestId, runAt: slot.runAt, colour: 'pending', reasons: known });
      requests.push({
        deviceId: slot.deviceId,
        request: {
          v: 1,
          requestId,
          meetingId: m.id,
          runAt: new Date(slot.runAt).toISOString(),
          expiresAt: new Date(m.startsAt).toISOString(),
          probe: slot.probe,
        },
      });
    }
    await this.repo.replace(m.id, rows);
    for (const r of rows) if (r.colour === 'red') await this.alert(m.id, r);
    for (const { deviceId, request } of requests) {
      try {
        await this.ports.publishRequest(deviceId, readinessRequestCodec.encode(request));
        this.counters.requested += 1;
      } catch (err) {
        // Left pending: the site reads red ("no answer") after the timeout.
        this.log.warn({ err, deviceId, meetingId: m.id }, 'readiness request not published');
      }
    }
    this.log.info({ meetingId: m.id, sites: rows.length, requests: requests.length }, 'readiness check started');
    this.ports.changed(m.id);
  }

  private async markUnanswered(m: MeetingRecord, rows: readonly ReadinessRow[], now: number): Promise<void> {
    let changed = false;
    for (const r of rows) {
      if (r.colour !== 'pending' || r.runAt === null) continue;
      if (now < r.runAt + this.cfg.answerTimeoutSec * 1000) continue;
      const reasons = [...r.reasons, NO_ANSWER];
      const row: ReadinessRow = { ...r, colour: colourOf(reasons), reasons };
      this.counters.unanswered += 1;
      await this.repo.save(row);
      await this.alert(m.id, row);
      changed = true;
    }
    if (changed) this.ports.changed(m.id);
  }

  /** A box's report: graded, stored, alerted. Unknown or stale requests are counted and dropped. */
  onReport(deviceId: string, report: ReadinessReport): Promise<void> {
    return this.serial(async () => {
      const row = await this.repo.byRequest(deviceId, report.requestId);
      if (!row || row.meetingId !== report.meetingId) {
        this.counters.unknownReports += 1;
        this.log.info({ deviceId, requestId: report.requestId }, 'readiness report for no current request; dropped');
        return;
      }
      const edge = report.probe ? await this.edgeLabel(report.probe.edgeId) : { vi: '', en: '' };
      const graded = gradeReport(report, this.cfg, edge);
      // Reasons known before the box answered (its upstream had no address) stay.
      const reasons = [...row.reasons.filter((r) => r.code !== 'no-answer'), ...graded.reasons];
      const next: ReadinessRow = { ...row, reportedAt: this.now(), report, reasons, colour: colourOf(reasons) };
      this.counters.reported += 1;
      await this.repo.save(next);
      await this.alert(row.meetingId, next);
      this.log.info({ deviceId, meetingId: row.meetingId, colour: next.colour }, 'readiness reported');
      this.ports.changed(row.meetingId);
    });
  }

  /** Red opens (once), green closes; amber leaves an open alert as it is. */
  private async alert(meetingId: string, row: ReadinessRow): Promise<void> {
    const key = alertKey(meetingId, row.siteId);
    if (row.colour === 'red') {
      await this.ports.openAlert({
        type: READINESS_ALERT,
        key,
        severity: 'warning',
        siteId: row.siteId,
        deviceId: row.deviceId,
        message: row.reasons.map((r) => r.en).join('; '),
        details: { meetingId, reasons: row.reasons.map(({ code, vi, en }) => ({ code, vi, en })) },
      });
      if (!row.alertOpen) await this.repo.save({ ...row, alertOpen: true });
    } else if (row.colour === 'green' && row.alertOpen) {
      await this.ports.resolveAlert(key, 'site ready');
      await this.repo.save({ ...row, alertOpen: false });
    }
  }

  private unreachable(edge: EdgeLabel): ReadinessReason {
    return {
      code: 'link-unreachable',
      level: 'red',
      vi: `Chưa biết địa chỉ của ${edge.vi}`,
      en: `The address of ${edge.en} is not known yet`,
    };
  }

  private async edgeLabel(edgeId: string): Promise<EdgeLabel> {
    if (edgeId === this.ports.coreEdgeId) return { vi: 'máy chủ tỉnh', en: "the province's core" };
    const siteId = await this.ports.siteOfDevice(edgeId);
    const name = (siteId && this.ports.siteName(siteId)) ?? edgeId;
    return { vi: `điểm cầu ${name}`, en: `the ${name} site` };
  }

  /** Resolves once every change asked for so far is done (tests, shutdown). */
  async idle(): Promise<void> {
    await this.chain;
  }
}
