import type { TvPower } from '@diemcau/shared';
import type { Display, Log } from '../types.js';
import { displayHealth } from '../verdicts.js';
import type { Cec } from './cec.js';
import { parseCecPower } from './cec.js';
import { scanDrm, type ScanRoots } from './scan.js';

// The TV: whether one is plugged in, and its mode, come from DRM in sysfs
// (read-only, instant, no need for the kiosk's cooperation); its power goes
// over HDMI-CEC where the host has it.

export function createRealDisplay(opts: { roots: ScanRoots; cec: Cec; log: Log }): Display {
  const log = opts.log.child({ device: 'display' });
  // A CEC query takes seconds; quick checks reuse the last answer.
  let lastPower: TvPower = 'unknown';
  const power = async (): Promise<TvPower> => {
    try {
      const r = await opts.cec.send('pow 0');
      lastPower = r.ok ? parseCecPower(r.output) : 'unsupported';
    } catch (err) {
      log.warn({ err }, 'CEC power query failed');
      lastPower = 'unknown';
    }
    return lastPower;
  };
  return {
    async check(o = {}) {
      const [connectors, p] = await Promise.all([scanDrm(opts.roots), o.power === false ? lastPower : power()]);
      return displayHealth(connectors, p);
    },
    async setPower(on) {
      const r = await opts.cec.send(on ? 'on 0' : 'standby 0');
      if (!r.ok) return 'unsupported';
      log.info({ on }, 'TV power set over CEC');
      // What we just asked for is the best guess until the next query.
      lastPower = on ? 'on' : 'standby';
      return 'done';
    },
    power,
  };
}
