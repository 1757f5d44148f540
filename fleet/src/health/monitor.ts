import type { Logger } from 'pino';
import type { DeviceEvent, HealthMessage, Telemetry } from '@diemcau/shared';
import type { AlertService } from '../alerts/service.js';
import type { Alert } from '../db/alerts-repo.js';
import { isHealthAlertType, type HealthAlertType } from '../alerts/alert-types.js';
import { planPeripherals, planTelemetry, type HealthDiff, type TelemetryThresholds } from './planner.js';
import type { SelfTestsRepo } from './self-tests.js';
import { KeyedSerial } from '../keyed-serial.js';

// Applies the health rules to what devices say and keeps the alerts in step.
// The open health alerts per device are mirrored in memory (loaded at start,
// kept in step with the alert events), because telemetry from 10,000 devices
// must not cost an alerts query per sample. The mirror changes at once; the
// alert service is told in order, one device at a time.

export const healthAlertKey = (type: HealthAlertType, deviceId: string): string => `${type}:${deviceId}`;

export interface HealthMonitorOptions {
  alerts: AlertService;
  selfTests: SelfTestsRepo;
  siteOf: (deviceId: string) => Promise<string | undefined>;
  log: Logger;
  thresholds?: TelemetryThresholds;
}

export interface HealthMonitor {
  onHealth(deviceId: string, msg: HealthMessage, receivedAt: string): Promise<void>;
  onEvent(deviceId: string, ev: DeviceEvent): void;
  onTelemetry(deviceId: string, t: Telemetry): void;
  /** Keeps the mirror right when an alert is resolved elsewhere (an operator, the API). */
  onAlertResolved(alert: Alert): void;
  /** Resolves an open help request (an operator called the site back). */
  resolveHelp(deviceId: string, by: string): Promise<Alert | undefined>;
  openFor(deviceId: string): ReadonlySet<HealthAlertType>;
  /** Resolves when every alert change asked for so far is made (tests). */
  idle(): Promise<void>;
}

export async function createHealthMonitor(opts: HealthMonitorOptions): Promise<HealthMonitor> {
  const { alerts, log } = opts;
  const perDevice = new KeyedSerial();
  const later = (deviceId: string, fn: () => Promise<unknown>): void => {
    perDevice.run(deviceId, fn).catch((err: unknown) => log.error({ err, deviceId }, 'health alert change failed'));
  };
  const open = new Map<string, Set<HealthAlertType>>();
  const setFor = (deviceId: string): Set<HealthAlertType> => {
    let s = open.get(deviceId);
    if (!s) open.set(deviceId, (s = new Set()));
    return s;
  };
  for (const a of await alerts.list({ state: 'open', limit: 1_000_000 })) {
    if (a.deviceId && isHealthAlertType(a.type) && a.key === healthAlertKey(a.type, a.deviceId))
      setFor(a.deviceId).add(a.type);
  }

  const apply = (deviceId: string, diff: HealthDiff, resolution: string): void => {
    const mine = setFor(deviceId);
    for (const c of diff.open) mine.add(c.type);
    for (const t of diff.resolve) mine.delete(t);
    if (diff.open.length === 0 && diff.resolve.length === 0) return;
    later(deviceId, async () => {
      const siteId = diff.open.length > 0 ? ((await opts.siteOf(deviceId)) ?? null) : null;
      for (const c of diff.open) {
        await alerts.open({
          type: c.type,
          key: healthAlertKey(c.type, deviceId),
          severity: c.severity,
          deviceId,
          siteId,
          message: c.message,
          details: c.details,
        });
      }
      for (const t of diff.resolve) await alerts.resolve(healthAlertKey(t, deviceId), resolution);
    });
  };

  return {
    async onHealth(deviceId, msg, receivedAt) {
      if (msg.kind === 'self-test') {
        const stored = await opts.selfTests.add(deviceId, msg, receivedAt);
        if (!stored) return; // redelivery of a result already applied
        const reasons = {
          ...(msg.camera.reason ? { camera: msg.camera.reason } : {}),
          ...(msg.microphone.reason ? { microphone: msg.microphone.reason } : {}),
          ...(msg.display.reason ? { display: msg.display.reason } : {}),
          ...(msg.gpio.reason ? { gpio: msg.gpio.reason } : {}),
        };
        log.info({ deviceId, ok: msg.ok, commandId: msg.commandId }, 'self-test result');
        apply(deviceId, planPeripherals('self-test', msg.peripherals, reasons, setFor(deviceId)), 'self-test passed');
      } else {
        apply(deviceId, planPeripherals('report', msg.peripherals, msg.reasons, setFor(deviceId)), 'peripheral back');
      }
    },
    onEvent(deviceId, ev) {
      if (ev.kind !== 'help-requested') return;
      const key = healthAlertKey('help-requested', deviceId);
      if (setFor(deviceId).has('help-requested')) {
        // Pressed again while open: keep one alert, note the press.
        later(deviceId, () =>
          alerts.update(key, { details: { lastEventId: ev.id, lastPressedAt: ev.at, source: ev.source } }),
        );
        return;
      }
      apply(
        deviceId,
        {
          open: [
            {
              type: 'help-requested',
              severity: 'critical',
              message: 'the site asks the province to call',
              details: { eventId: ev.id, pressedAt: ev.at, source: ev.source },
            },
          ],
          resolve: [],
        },
        '',
      );
    },
    onTelemetry(deviceId, t) {
      const diff = planTelemetry(t, setFor(deviceId), opts.thresholds);
      if (diff.open.length > 0 || diff.resolve.length > 0) apply(deviceId, diff, 'back within limits');
    },
    onAlertResolved(alert) {
      if (alert.deviceId && isHealthAlertType(alert.type)) open.get(alert.deviceId)?.delete(alert.type);
    },
    resolveHelp(deviceId, by) {
      open.get(deviceId)?.delete('help-requested');
      return perDevice.run(deviceId, () =>
        alerts.resolve(healthAlertKey('help-requested', deviceId), `answered by ${by}`),
      );
    },
    openFor: (deviceId) => new Set(open.get(deviceId) ?? []),
    idle: () => perDevice.idle(),
  };
}
