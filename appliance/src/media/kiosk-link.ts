// The agent tells the kiosk page whether it is connected to the fleet, through
// a small world-readable file beside the identify card ({kioskDir}/link.json):
// the edge serves the page, the agent holds the MQTT link, and a file keeps
// the agent free of a listening socket.
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import { writeFileAtomicSync } from '@diemcau/shared';

export interface KioskLinkFile {
  v: 1;
  connected: boolean;
  at: string;
}

export interface ConnectionEvents {
  on(event: 'connected' | 'disconnected', fn: () => void): unknown;
  off(event: 'connected' | 'disconnected', fn: () => void): unknown;
}

/** Writes link.json now and on each (dis)connect; returns an idempotent close. */
export function writeKioskLink(o: {
  dir: string;
  session: ConnectionEvents;
  connected: boolean;
  log: Logger;
}): () => void {
  const write = (connected: boolean): void => {
    try {
      fs.mkdirSync(o.dir, { recursive: true, mode: 0o755 });
      const file = path.join(o.dir, 'link.json');
      const body: KioskLinkFile = { v: 1, connected, at: new Date().toISOString() };
      writeFileAtomicSync(file, JSON.stringify(body), { mode: 0o644 });
    } catch (err) {
      o.log.debug({ err }, 'kiosk link state not written');
    }
  };
  const up = (): void => write(true);
  const down = (): void => write(false);
  o.session.on('connected', up);
  o.session.on('disconnected', down);
  write(o.connected);
  let closed = false;
  return () => {
    if (closed) return;
    closed = true;
    o.session.off('connected', up);
    o.session.off('disconnected', down);
  };
}
