// The executor around the meeting escalation planner (escalation-planner.ts):
// gathers the open alerts and the meetings near now, runs the planner and
// carries out its steps as alert updates (so the dashboard stream and the
// webhook see them as changes of the same alert). It runs on a tick, because a
// lead window opens by the clock alone, and soon after the meetings area
// changes its plans (a meeting created, started, ended).
//
// It is also the alert service's policy: an alert opened while its site's
// meeting is near opens critical at once, rather than warning and then raised.
import type { Logger } from 'pino';
import type { Fence } from '../cluster/leadership.js';
import type { Alert, NewAlert } from '../db/alerts-repo.js';
import type { AlertPolicy, AlertService } from './service.js';
import {
  desiredAlert,
  ESCALATION_DETAIL_KEYS,
  INCIDENT_TYPES,
  isEscalated,
  planEscalation,
  type AlertFact,
  type EscalationStep,
  type MeetingFact,
} from './escalation-planner.js';

export interface EscalationOptions {
  /** In a cluster, only the leader escalates (the embedded node always does). */
  isLeader?: () => boolean;
  /** The leader's fence around each step (cluster/leadership.ts). */
  fence?: Fence;
  alerts: AlertService;
  /** Meetings live now or starting within `withinMin` minutes (the meetings area's `upcoming`). */
  meetings(withinMin: number): Promise<readonly MeetingFact[]>;
  siteOfDevice(deviceId: string): Promise<string | undefined>;
  log: Logger;
  leadMin: number;
  /** How often the alerts are checked against the clock. */
  intervalMs: number;
  /** Called with each step carried out (metrics). */
  onStep?: (step: EscalationStep) => void;
  /** Injected for tests; Date.now otherwise. */
  now?: () => number;
}

export class MeetingEscalation implements AlertPolicy {
  private timer: NodeJS.Timeout | undefined;
  private soon: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly now: () => number;

  constructor(private readonly o: EscalationOptions) {
    this.now = o.now ?? Date.now;
  }

  /** Checks the open alerts once now (meetings may have come near while the fleet was down), then on the interval. */
  start(): void {
    if (this.closed || this.timer) return;
    void this.run();
    this.timer = setInterval(() => void this.run(), this.o.intervalMs);
    this.timer.unref();
  }

  /** Meetings changed: check soon. Many changes in a burst (boxes announcing addresses) make one pass. */
  poke(): void {
    if (this.closed || this.soon) return;
    this.soon = setTimeout(() => {
      this.soon = undefined;
      void this.run();
    }, 0);
    this.soon.unref();
  }

  /** One pass over the open alerts; returns the steps carried out. Never rejects. */
  async run(): Promise<EscalationStep[]> {
    if (this.closed || this.o.isLeader?.() === false) return [];
    try {
      const meetings = await this.o.meetings(this.o.leadMin);
      const open = (await this.o.alerts.list({ state: 'open', limit: 100_000 })).filter((a) => isEscalated(a.type));
      const facts: AlertFact[] = [];
      for (const a of open) facts.push(await this.fact(a));
      const steps = planEscalation(facts, meetings, this.now(), this.cfg());
      for (const s of steps) await this.apply(s);
      return steps;
    } catch (err) {
      this.o.log.error({ err }, 'meeting escalation pass failed');
      return [];
    }
  }

  /** AlertPolicy: an alert opened near its site's meeting opens critical, naming the meeting. */
  async opening(a: NewAlert): Promise<NewAlert> {
    if (!isEscalated(a.type)) return a;
    const fact = await this.fact({
      key: a.key,
      type: a.type,
      severity: a.severity ?? 'warning',
      siteId: a.siteId ?? null,
      deviceId: a.deviceId ?? null,
      details: a.details ?? null,
    });
    const want = desiredAlert(fact, await this.o.meetings(this.o.leadMin), this.now(), this.cfg());
    if (want.severity !== fact.severity)
      this.o.log.info(
        { key: a.key, severity: want.severity, meeting: want.details.meeting },
        'alert opens raised: its meeting is near',
      );
    return { ...a, severity: want.severity, details: want.details };
  }

  /**
   * AlertPolicy: another module rewrote an alert's details (a district
   * incident's members): the meeting keys stay until the next pass says
   * otherwise, so the alert does not lose its meeting and regain it a tick later.
   */
  updating(current: Alert, details: Record<string, unknown>): Record<string, unknown> {
    if (!isEscalated(current.type) || !current.details) return details;
    const out = { ...details };
    for (const k of ESCALATION_DETAIL_KEYS) if (!(k in out) && k in current.details) out[k] = current.details[k];
    return out;
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    if (this.soon) clearTimeout(this.soon);
    this.timer = undefined;
    this.soon = undefined;
  }

  private cfg() {
    return { leadMs: this.o.leadMin * 60_000 };
  }

  private async apply(s: EscalationStep): Promise<void> {
    try {
      const updated = await this.o.alerts.update(
        s.key,
        { severity: s.severity, details: s.details },
        { asIs: true, ...(this.o.fence ? { fence: this.o.fence } : {}) },
      );
      if (!updated) return; // resolved meanwhile
      this.o.log.info(
        { key: s.key, action: s.action, severity: s.severity, meeting: s.details.meeting ?? s.details.lastMeeting },
        'alert severity follows its meeting',
      );
      this.o.onStep?.(s);
    } catch (err) {
      this.o.log.error({ err, step: s }, 'escalation step failed');
    }
  }

  /** Which sites an alert is about: its own site, or an incident's offline boxes' sites. */
  private async fact(
    a: Pick<Alert, 'key' | 'type' | 'severity' | 'siteId' | 'deviceId' | 'details'>,
  ): Promise<AlertFact> {
    let siteIds: string[];
    if (INCIDENT_TYPES.has(a.type)) {
      const ids = a.details?.offline ?? a.details?.devices;
      const devices = Array.isArray(ids) ? ids.filter((x): x is string => typeof x === 'string') : [];
      const sites = await Promise.all(devices.map((d) => this.o.siteOfDevice(d)));
      siteIds = [...new Set(sites.filter((s): s is string => s !== undefined))];
    } else {
      const site = a.siteId ?? (a.deviceId ? await this.o.siteOfDevice(a.deviceId) : undefined);
      siteIds = site ? [site] : [];
    }
    return { key: a.key, type: a.type, severity: a.severity, siteIds, details: a.details };
  }
}
