import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * The fleet's Prometheus metrics, one registry per fleet instance (no global
 * registry: tests run several fleets in one process). Feature modules add
 * their own metrics to `registry`.
 */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'diemcau_fleet_' });
  const r = [registry];
  return {
    registry,
    mqttMessages: new Counter({
      name: 'diemcau_mqtt_messages_total',
      help: 'Device messages accepted, by channel',
      labelNames: ['channel'],
      registers: r,
    }),
    mqttRejected: new Counter({
      name: 'diemcau_mqtt_rejected_total',
      help: 'Device messages rejected, by reason (error code) and channel',
      labelNames: ['reason', 'channel'],
      registers: r,
    }),
    mqttAuthFailures: new Counter({
      name: 'diemcau_mqtt_auth_failures_total',
      help: 'Refused MQTT connections, by reason',
      labelNames: ['reason'],
      registers: r,
    }),
    mqttPasswordChecks: new Counter({
      name: 'diemcau_mqtt_password_checks_total',
      help: "Device passwords checked at login, by the form of the stored hash: 'sha256', or 'scrypt' (earlier releases' form)",
      labelNames: ['how'],
      registers: r,
    }),
    mqttPasswordHashesReplaced: new Counter({
      name: 'diemcau_mqtt_password_hashes_replaced_total',
      help: "Devices' password hashes stored in the configured form (DIEMCAU_DEVICE_PASSWORD_HASH) after a good login, by that form",
      labelNames: ['form'],
      registers: r,
    }),
    mqttDenied: new Counter({
      name: 'diemcau_mqtt_acl_denied_total',
      help: 'Publishes and subscriptions refused by the ACL',
      labelNames: ['kind'],
      registers: r,
    }),
    mqttOversize: new Counter({
      name: 'diemcau_mqtt_oversize_packets_total',
      help: 'Connections closed for sending a packet over the size limit',
      registers: r,
    }),
    mqttClients: new Gauge({ name: 'diemcau_mqtt_clients', help: 'Connected MQTT clients', registers: r }),
    devicesOnline: new Gauge({ name: 'diemcau_devices_online', help: 'Devices currently online', registers: r }),
    presenceWriteRetries: new Counter({
      name: 'diemcau_presence_write_retries_total',
      help: 'Devices whose presence write the registry did not take and that are written again',
      registers: r,
    }),
    alertsOpened: new Counter({
      name: 'diemcau_alerts_opened_total',
      help: 'Alerts opened, by type',
      labelNames: ['type'],
      registers: r,
    }),
    telemetryStored: new Counter({
      name: 'diemcau_telemetry_stored_total',
      help: 'Telemetry samples stored (duplicates excluded)',
      registers: r,
    }),
    telemetryDuplicates: new Counter({
      name: 'diemcau_telemetry_duplicates_total',
      help: 'Telemetry samples already stored (redelivery)',
      registers: r,
    }),
    httpRejected: new Counter({
      name: 'diemcau_http_rejected_total',
      help: 'HTTP requests rejected, by code',
      labelNames: ['code'],
      registers: r,
    }),
    httpAuthRefused: new Counter({
      name: 'diemcau_http_auth_refused_total',
      help: 'HTTP requests refused with 401 or 403, by status and reason (no-token, bad-token, role, viewer-write, handler)',
      labelNames: ['status', 'reason'],
      registers: r,
    }),
    webhookDeliveries: new Counter({
      name: 'diemcau_webhook_deliveries_total',
      help: 'Webhook delivery attempts, by result',
      labelNames: ['result'],
      registers: r,
    }),
    handlerErrors: new Counter({
      name: 'diemcau_ingest_handler_errors_total',
      help: 'Ingest handlers that threw, by channel',
      labelNames: ['channel'],
      registers: r,
    }),
  };
}

export type FleetMetrics = ReturnType<typeof createMetrics>;
