import type { Static, TSchema } from '@sinclair/typebox';
import type { Client, PublishPacket } from 'aedes';
import type { Logger } from 'pino';
import {
  commandResultCodec,
  parseDeviceTopic,
  presenceCodec,
  telemetryCodec,
  type Codec,
  type DevicePublishChannel,
} from '@diemcau/shared';
import type { FleetMetrics } from '../metrics.js';
import type { FleetBroker } from './broker.js';

/** Where a message came from: the device, its connection, the raw topic. */
export interface IngestMeta {
  connId: number;
  topic: string;
  retain: boolean;
  receivedAt: string;
  /** Stored before it was acknowledged (FleetBroker.holdAcks): whoever stored it must not store it again. */
  stored: boolean;
}

export type IngestHandler<T> = (deviceId: string, payload: T, meta: IngestMeta) => void | Promise<void>;

/** Channels whose codec the fleet knows already; others are registered with their codec. */
const KNOWN_CODECS = {
  presence: presenceCodec,
  telemetry: telemetryCodec,
  'command-results': commandResultCodec,
} as const;
type KnownChannel = keyof typeof KNOWN_CODECS;
type KnownPayload<C extends KnownChannel> = Static<(typeof KNOWN_CODECS)[C]['schema']>;

interface Route {
  codec: Codec<TSchema>;
  handlers: IngestHandler<unknown>[];
}

/**
 * Routes each device message to the handlers of its channel after decoding it
 * with the channel's compiled codec. A bad payload is counted (reason =
 * error code, channel), logged and dropped; a throwing handler is counted and
 * logged. Nothing here can take the server down.
 */
export class IngestRouter {
  private readonly routes = new Map<string, Route>();

  constructor(
    private readonly broker: FleetBroker,
    private readonly metrics: FleetMetrics,
    private readonly log: Logger,
  ) {
    broker.aedes.on('publish', (packet, client) => this.onPublish(packet, client));
  }

  /**
   * Handles a channel: `ingest.on('command-results', (deviceId, result) => ...)`,
   * or for a channel whose codec lives in your module:
   * `ingest.on('health', healthCodec, (deviceId, health) => ...)`.
   */
  on<C extends KnownChannel>(channel: C, handler: IngestHandler<KnownPayload<C>>): () => void;
  on<S extends TSchema>(channel: DevicePublishChannel, codec: Codec<S>, handler: IngestHandler<Static<S>>): () => void;
  on(channel: DevicePublishChannel, a: unknown, b?: unknown): () => void {
    const [codec, handler] = (b === undefined ? [KNOWN_CODECS[channel as KnownChannel], a] : [a, b]) as [
      Codec<TSchema> | undefined,
      IngestHandler<unknown>,
    ];
    if (!codec) throw new Error(`no codec known for channel ${channel}; pass one`);
    let route = this.routes.get(channel);
    if (!route) {
      route = { codec, handlers: [] };
      this.routes.set(channel, route);
    } else if (route.codec.schema !== codec.schema) {
      throw new Error(`channel ${channel} already has handlers with a different codec`);
    }
    route.handlers.push(handler);
    return () => {
      const r = this.routes.get(channel);
      if (r) r.handlers = r.handlers.filter((h) => h !== handler);
    };
  }

  private onPublish(packet: PublishPacket, client: Client | null): void {
    const { topic, payload, retain } = packet;
    const conn = this.broker.connectionOf(client);
    if (!conn) return; // the fleet's own publishes and $SYS
    const parsed = parseDeviceTopic(topic);
    const channel = parsed?.channel ?? 'unknown';
    const route = this.routes.get(channel);
    if (!route || route.handlers.length === 0) {
      this.metrics.mqttRejected.inc({ reason: 'unhandled-channel', channel });
      this.log.debug({ deviceId: conn.deviceId, topic }, 'no handler for channel');
      return;
    }
    const decoded = route.codec.decode(payload);
    if (!decoded.ok) {
      this.metrics.mqttRejected.inc({ reason: decoded.error.code, channel });
      this.log.warn(
        { deviceId: conn.deviceId, topic, code: decoded.error.code, reason: decoded.error.message },
        'device message rejected',
      );
      return;
    }
    this.metrics.mqttMessages.inc({ channel });
    const meta: IngestMeta = {
      connId: conn.connId,
      topic,
      retain,
      receivedAt: new Date().toISOString(),
      stored: this.broker.wasStored(packet),
    };
    for (const h of route.handlers) {
      try {
        const r = h(conn.deviceId, decoded.value, meta);
        if (r && typeof (r as Promise<void>).catch === 'function') {
          (r as Promise<void>).catch((err: unknown) => this.handlerFailed(channel, conn.deviceId, err));
        }
      } catch (err) {
        this.handlerFailed(channel, conn.deviceId, err);
      }
    }
  }

  private handlerFailed(channel: string, deviceId: string, err: unknown): void {
    this.metrics.handlerErrors.inc({ channel });
    this.log.error({ err, channel, deviceId }, 'ingest handler failed');
  }
}
