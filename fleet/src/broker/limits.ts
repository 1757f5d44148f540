// What one box may make the broker hold, decided on plain data.
//
// Devices never use QoS 2 and never keep a session (the agent publishes at
// QoS 0/1 over clean sessions). Both are refused rather than bounded: an
// inbound QoS 2 message is stored until its PUBREL, and a persistent session
// keeps those, its subscriptions and every QoS 1 message queued while the box
// is away, after the box has gone. A box that withheld PUBREL across
// reconnects grew the fleet by hundreds of MiB that way. What a device can
// still leave behind is one retained presence message (≤ maxRetainedBytes: the
// ACL lets it retain nothing else, and a topic holds one retained message) and
// one will, checked by the same rules.
import { canDevicePublish, MAX_PAYLOAD_BYTES, parseDeviceTopic } from '@diemcau/shared';

export interface DeviceLimits {
  /** Largest retained payload a device may leave (its presence). */
  maxRetainedBytes: number;
}

/** Why a device's publish (or will) is refused; each is a label of diemcau_mqtt_limits_total or the ACL counter. */
export type PublishRefusal = 'acl' | 'qos2' | 'retain-topic' | 'retained-bytes' | 'payload-bytes';

interface PublishLike {
  topic: string;
  qos?: number;
  retain?: boolean;
  payload: Buffer | string;
}

const byteLength = (p: Buffer | string): number => (typeof p === 'string' ? Buffer.byteLength(p) : p.length);

export function publishRefusal(deviceId: string, packet: PublishLike, limits: DeviceLimits): PublishRefusal | null {
  if (!canDevicePublish(deviceId, packet.topic)) return 'acl';
  if ((packet.qos ?? 0) > 1) return 'qos2';
  const size = byteLength(packet.payload);
  if (packet.retain) {
    if (parseDeviceTopic(packet.topic)?.channel !== 'presence') return 'retain-topic';
    if (size > limits.maxRetainedBytes) return 'retained-bytes';
  }
  if (size > MAX_PAYLOAD_BYTES) return 'payload-bytes';
  return null;
}

/** Why a CONNECT of an authenticated device is refused, or null. */
export function connectRefusal(
  deviceId: string,
  o: { clean: boolean; will?: PublishLike | null | undefined },
  limits: DeviceLimits,
): 'persistent-session' | 'bad-will' | null {
  if (!o.clean) return 'persistent-session';
  if (o.will && publishRefusal(deviceId, o.will, limits) !== null) return 'bad-will';
  return null;
}

/**
 * Open connections per remote address. Sized for a NAT with a whole district
 * behind it; a flood of idle sockets from one address stops at the cap
 * instead of at the file descriptor limit.
 */
export class AddressSlots {
  private readonly open = new Map<string, number>();

  /** 0 = no cap (connections are still counted). */
  constructor(private readonly max: number) {}

  /** Takes a slot; false (and nothing taken) when the address is at its cap. */
  take(address: string): boolean {
    const n = this.open.get(address) ?? 0;
    if (this.max > 0 && n >= this.max) return false;
    this.open.set(address, n + 1);
    return true;
  }

  release(address: string): void {
    const n = (this.open.get(address) ?? 0) - 1;
    if (n <= 0) this.open.delete(address);
    else this.open.set(address, n);
  }

  count(address: string): number {
    return this.open.get(address) ?? 0;
  }
}
