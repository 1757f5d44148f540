// The agent tells the kiosk page what the box is doing through a small
// world-readable file beside the identify card ({kioskDir}/link.json): its
// link to the fleet, whether the box has a network at all, and the updater's
// last report. The edge serves the page, the agent holds the MQTT link, and a
// file keeps the agent free of a listening socket. The same facts give the
// status LED its pattern (status/box-status.ts), so the TV and the LED agree.
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import { writeFileAtomicSync } from '@diemcau/shared';
import { boxState, type BoxState, type OtaView } from '../status/box-status.js';

export interface KioskLinkFile {
  v: 1;
  connected: boolean;
  at: string;
  /** A default route exists; null when not known (absent in files of older agents). */
  network?: boolean | null;
  /** The updater's last report (absent: none since this agent started). */
  ota?: OtaView | null;
}

export interface ConnectionEvents {
  on(event: 'connected' | 'disconnected', fn: () => void): unknown;
  off(event: 'connected' | 'disconnected', fn: () => void): unknown;
}

/** Idempotent close, plus the updater's reports in. */
export type KioskLink = (() => void) & { setOta(ota: OtaView): void };

/** Writes link.json now and on each change; polls the network every `pollMs` (timer unref'd). */
export function writeKioskLink(o: {
  /** Where link.json goes; null: no TV here (the simulator), the LED still follows. */
  dir: string | null;
  session: ConnectionEvents;
  connected: boolean;
  log: Logger;
  /** Whether the box has a network (status/network.ts); absent: not known. */
  network?: () => boolean | null;
  /** Called with the box's state whenever it changes (the status LED). */
  onState?: (state: BoxState) => void;
  pollMs?: number;
}): KioskLink {
  let connected = o.connected;
  let network = o.network?.() ?? null;
  let ota: OtaView | null = null;
  let last: BoxState | null = null;
  const write = (): void => {
    const state = boxState({ enrolled: true, connected, network, ota, now: Date.now() });
    if (state !== last) {
      last = state;
      try {
        o.onState?.(state);
      } catch (err) {
        o.log.warn({ err }, 'status listener failed');
      }
    }
    if (o.dir === null) return;
    try {
      fs.mkdirSync(o.dir, { recursive: true, mode: 0o755 });
      const body: KioskLinkFile = { v: 1, connected, at: new Date().toISOString(), network, ota };
      writeFileAtomicSync(path.join(o.dir, 'link.json'), JSON.stringify(body), { mode: 0o644 });
    } catch (err) {
      o.log.debug({ err }, 'kiosk link state not written');
    }
  };
  const up = (): void => {
    connected = true;
    write();
  };
  const down = (): void => {
    connected = false;
    write();
  };
  o.session.on('connected', up);
  o.session.on('disconnected', down);
  write();
  const poll = o.network
    ? setInterval(() => {
        const now = o.network!();
        if (now !== network) {
          network = now;
          write();
        }
      }, o.pollMs ?? 5000)
    : null;
  poll?.unref();
  let closed = false;
  const close = (): void => {
    if (closed) return;
    closed = true;
    if (poll) clearInterval(poll);
    o.session.off('connected', up);
    o.session.off('disconnected', down);
  };
  return Object.assign(close, {
    setOta(next: OtaView) {
      if (closed) return;
      ota = next;
      write();
    },
  });
}
