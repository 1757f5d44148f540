import { parseDeviceTopic, type DeviceSubscribeChannel, DEVICE_SUBSCRIBE } from '@diemcau/shared';

// Incoming messages by channel. Other modules (commands, OTA's desired state,
// the media plan) register one handler each; the session only delivers bytes.
// A handler that throws or rejects is logged and counted; the agent goes on.

export type ChannelHandler = (payload: Buffer, info: { topic: string; retained: boolean }) => void | Promise<void>;

export interface RouterLog {
  warn(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
}

export interface RouterStats {
  delivered: number;
  unrouted: number;
  handlerErrors: number;
  foreign: number;
}

export class ChannelRouter {
  private readonly handlers = new Map<DeviceSubscribeChannel, ChannelHandler>();
  private readonly counts: RouterStats = { delivered: 0, unrouted: 0, handlerErrors: 0, foreign: 0 };

  constructor(
    private readonly deviceId: string,
    private readonly log: RouterLog,
  ) {}

  /** One handler per channel: a second registration is a wiring bug, so it throws. Returns an unregister function. */
  on(channel: DeviceSubscribeChannel, handler: ChannelHandler): () => void {
    if (!(DEVICE_SUBSCRIBE as readonly string[]).includes(channel))
      throw new Error(`${channel} is not a channel a device hears`);
    if (this.handlers.has(channel)) throw new Error(`channel ${channel} already has a handler`);
    this.handlers.set(channel, handler);
    return () => {
      if (this.handlers.get(channel) === handler) this.handlers.delete(channel);
    };
  }

  /** Never throws: whatever arrives, the MQTT client's event loop must survive it. */
  dispatch(topic: string, payload: Buffer, retained: boolean): void {
    const parsed = parseDeviceTopic(topic);
    if (!parsed || parsed.deviceId !== this.deviceId) {
      this.counts.foreign++;
      this.log.warn({ topic }, 'message on a topic that is not ours; ignored');
      return;
    }
    const handler = this.handlers.get(parsed.channel as DeviceSubscribeChannel);
    if (!handler) {
      this.counts.unrouted++;
      this.log.debug({ topic }, 'no handler for channel; ignored');
      return;
    }
    this.counts.delivered++;
    const fail = (err: unknown): void => {
      this.counts.handlerErrors++;
      this.log.warn({ err, channel: parsed.channel }, 'channel handler failed');
    };
    try {
      const r = handler(payload, { topic, retained });
      if (r instanceof Promise) r.catch(fail);
    } catch (err) {
      fail(err);
    }
  }

  stats(): RouterStats {
    return { ...this.counts };
  }
}
