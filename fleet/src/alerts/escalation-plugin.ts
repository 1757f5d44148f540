// The meeting escalation as a fleet plugin. It must be registered after the
// meetings plugin in the same scope: it reaches the meetings area through its
// `meetings` decorator, by shape, as commands and rollouts do, so the alerts
// never import the meetings' internals.
import type { FastifyInstance } from 'fastify';
import { Counter } from 'prom-client';
import '../api/types.js';
import { MeetingEscalation } from './escalation.js';
import type { MeetingFact } from './meeting-escalation.js';

export interface EscalationPluginOptions {
  /** How often open alerts are checked against the clock (a lead window opens by the clock alone). */
  intervalMs?: number;
  /** Receives the executor (tests). */
  expose?: (escalation: MeetingEscalation) => void;
}

interface MeetingsShape {
  service: {
    upcoming(withinMin?: number): readonly MeetingFact[];
    onSync?(listener: () => void): () => void;
  };
}

const meetingsOf = (app: FastifyInstance) => (app as FastifyInstance & { meetings?: MeetingsShape }).meetings;

export async function meetingEscalationPlugin(app: FastifyInstance, opts: EscalationPluginOptions): Promise<void> {
  const ctx = app.fleet;
  const log = ctx.log.child({ module: 'alert-escalation' });
  const meetings = meetingsOf(app);
  if (!meetings) {
    log.warn('no meetings area in this scope: alerts are not raised near meetings');
    return;
  }
  const steps = new Counter({
    name: 'diemcau_alert_meeting_escalations_total',
    help: 'Alerts raised, lowered or re-pointed because a meeting of their site came near, went live or ended',
    labelNames: ['action'],
    registers: [ctx.metrics.registry],
  });
  const escalation = new MeetingEscalation({
    alerts: ctx.alerts,
    meetings: (withinMin) => meetings.service.upcoming(withinMin),
    siteOfDevice: (id) => ctx.repos.devices.get(id)?.siteId,
    log,
    leadMin: ctx.config.meetingAlertLeadMin,
    intervalMs: opts.intervalMs ?? 30_000,
    onStep: (s) => steps.inc({ action: s.action }),
  });
  const offs = [ctx.alerts.usePolicy(escalation), meetings.service.onSync?.(() => escalation.poke()) ?? (() => undefined)];
  app.addHook('onClose', async () => {
    for (const off of offs) off();
    escalation.close();
  });
  escalation.start();
  opts.expose?.(escalation);
}
