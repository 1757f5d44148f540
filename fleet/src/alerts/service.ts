import type { Logger } from 'pino';
import type { Alert, AlertSeverity, AlertsRepo, NewAlert } from '../db/alerts-repo.js';
import type { FleetEvents } from '../events.js';
import type { FleetMetrics } from '../metrics.js';
import type { WebhookNotifier } from './webhook.js';

/**
 * The one way to open, update and resolve alerts, whoever raises them
 * (presence rules, peripheral health, OTA): stores them, tells the event bus
 * (dashboard) and the webhook. Opening an alert whose key is already open is
 * a no-op, so callers may repeat themselves.
 */
export class AlertService {
  constructor(
    private readonly repo: AlertsRepo,
    private readonly events: FleetEvents,
    private readonly metrics: FleetMetrics,
    private readonly log: Logger,
    private readonly webhook: WebhookNotifier | undefined,
  ) {}

  open(a: NewAlert): Alert {
    const { alert, created } = this.repo.open(a);
    if (created) {
      this.metrics.alertsOpened.inc({ type: alert.type });
      this.log.info({ alertId: alert.id, type: alert.type, key: alert.key, deviceId: alert.deviceId, siteId: alert.siteId }, 'alert opened');
      this.events.emit('alert-opened', alert);
      this.webhook?.notify('alert-opened', alert);
    }
    return alert;
  }

  update(key: string, patch: { details?: Record<string, unknown>; message?: string; severity?: AlertSeverity }): Alert | undefined {
    const alert = this.repo.update(key, patch);
    if (alert) {
      this.events.emit('alert-updated', alert);
      this.webhook?.notify('alert-updated', alert);
    }
    return alert;
  }

  resolve(key: string, resolution: string): Alert | undefined {
    const alert = this.repo.resolve(key, resolution);
    if (alert) {
      this.log.info({ alertId: alert.id, type: alert.type, key, resolution }, 'alert resolved');
      this.events.emit('alert-resolved', alert);
      this.webhook?.notify('alert-resolved', alert);
    }
    return alert;
  }

  isOpen(key: string): boolean {
    return this.repo.getOpen(key) !== undefined;
  }

  list(q: Parameters<AlertsRepo['list']>[0]): Alert[] {
    return this.repo.list(q);
  }
}
