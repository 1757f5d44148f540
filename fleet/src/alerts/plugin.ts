// The meeting escalation as a fleet plugin. It reaches the meetings area
// through its `meetings` decorator and declares that dependency, so a fleet
// built without meetings (or with them registered later) fails at start
// instead of silently never raising an alert near a meeting.
import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import { Counter } from 'prom-client';
import '../api/types.js';
import { MeetingEscalation } from './escalation.js';

export interface EscalationPluginOptions {
  /** How often open alerts are checked against the clock (a lead window opens by the clock alone). */
  intervalMs?: number;
  /** Receives the executor (tests). */
  expose?: (escalation: MeetingEscalation) => void;
}

export const meetingEscalationPlugin = fp<EscalationPluginOptions>(escalationArea, {
  name: 'diemcau-meeting-escalation',
  dependencies: ['diemcau-context', 'diemcau-meetings'],
  encapsulate: true,
});

async function escalationArea(app: FastifyInstance, opts: EscalationPluginOptions): Promise<void> {
  const ctx = app.fleet;
  const log = ctx.log.child({ module: 'alert-escalation' });
  const meetings = app.meetings;
  const steps = new Counter({
    name: 'diemcau_alert_meeting_escalations_total',
    help: 'Alerts raised, lowered or re-pointed because a meeting of their site came near, went live or ended',
    labelNames: ['action'],
    registers: [ctx.metrics.registry],
  });
  const escalation = new MeetingEscalation({
    alerts: ctx.alerts,
    meetings: (withinMin) => meetings.service.upcoming(withinMin),
    siteOfDevice: async (id) => (await ctx.repos.devices.get(id))?.siteId,
    log,
    leadMin: ctx.config.meetingAlertLeadMin,
    intervalMs: opts.intervalMs ?? 30_000,
    isLeader: () => ctx.leadership.isLeader,
    fence: ctx.leadership.fence,
    onStep: (s) => steps.inc({ action: s.action }),
  });
  const offs = [
    ctx.alerts.usePolicy(escalation),
    meetings.service.onSync?.(() => escalation.poke()) ?? (() => undefined),
  ];
  app.addHook('onClose', async () => {
    for (const off of offs) off();
    escalation.close();
  });
  escalation.start();
  opts.expose?.(escalation);
}
