import { parseDeviceTopic, type DeviceSubscribeChannel, DEVICE_SUBSCRIBE } from '@diemcau/shared';

// Incoming messages by channel. Other modules (commands, OTA's desired state,
// the media plan) register one handler each; the session only delivers bytes.
// A handler that throws or rejects is logged and counted; the agent goes on.
//
// The session subscribes as soon as it connects, while the agent is still
// wiring its parts: a message can arrive before its channel's handler is
// registered. On a state channel (everything but commands) that message is
// the box's desired state (a release, a media plan) and the fleet sends it
// once; dropped, the box would sit on it until its next reconnect (an update
// rolled out while the agent started was never taken). So the latest message
// of a state channel is held until its handler registers, then handed over.
// Commands are not held: the fleet sends them again until they are answered.

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

type Held = { topic: string; payload: Buffer; retained: boolean };

export class ChannelRouter {
  private readonly handlers = new Map<DeviceSubscribeChannel, ChannelHandler>();
  private readonly held = new Map<DeviceSubscribeChannel, Held>();
  /** Messages seen per channel: a held one is stale once a newer one arrived. */
  private readonly arrivals = new Map<DeviceSubscribeChannel, number>();
  private readonly counts: RouterStats = { delivered: 0, unrouted: 0, handlerErrors: 0, foreign: 0 };

  constructor(
    private readonly deviceId: string,
    private readonly log: RouterLog,
  ) {}

  /**
   * One handler per channel: a second registration is a wiring bug, so it
   * throws. Returns an unregister function. A state message that arrived
   * before is handed over once the caller's synchronous wiring is done (a
   * microtask later), so the handler never runs before it returns.
   */
  on(channel: DeviceSubscribeChannel, handler: ChannelHandler): () => void {
    if (!(DEVICE_SUBSCRIBE as readonly string[]).includes(channel))
      throw new Error(`${channel} is not a channel a device hears`);
    if (this.handlers.has(channel)) throw new Error(`channel ${channel} already has a handler`);
    this.handlers.set(channel, handler);
    const early = this.held.get(channel);
    if (early) {
      this.held.delete(channel);
      const seen = this.arrivals.get(channel);
      queueMicrotask(() => {
        // Unregistered meanwhile, or a newer message already delivered to it: nothing to hand over.
        if (this.handlers.get(channel) === handler && this.arrivals.get(channel) === seen)
          this.deliver(channel, handler, early.topic, early.payload, early.retained);
      });
    }
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
    const channel = parsed.channel as DeviceSubscribeChannel;
    this.arrivals.set(channel, (this.arrivals.get(channel) ?? 0) + 1);
    const handler = this.handlers.get(channel);
    if (!handler) {
      this.counts.unrouted++;
      if (channel === 'commands') {
        this.log.debug({ topic }, 'no handler for channel; ignored');
      } else {
        this.held.set(channel, { topic, payload, retained });
        this.log.debug({ topic }, 'no handler for channel yet; held until one registers');
      }
      return;
    }
    this.deliver(channel, handler, topic, payload, retained);
  }

  private deliver(
    channel: DeviceSubscribeChannel,
    handler: ChannelHandler,
    topic: string,
    payload: Buffer,
    retained: boolean,
  ): void {
    this.counts.delivered++;
    const fail = (err: unknown): void => {
      this.counts.handlerErrors++;
      this.log.warn({ err, channel }, 'channel handler failed');
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
