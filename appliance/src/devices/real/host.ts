import si from 'systeminformation';
import type { HostSummary } from '@diemcau/shared';
import type { Host, Log } from '../types.js';

// Who this box is: model and serial from DMI (what a pre-registered serial is
// matched against at enrolment) and the OS. Cheap boards answer "Default
// string" or nothing; those are reported as empty, not as a serial.

const PLACEHOLDER = /^(|-|0+|none|default string|to be filled by o\.e\.m\.|system serial number|not specified)$/i;

export const clean = (s: string | undefined): string => {
  const v = (s ?? '').trim();
  return PLACEHOLDER.test(v) ? '' : v.slice(0, 200);
};

export function createRealHost(log: Log): Host {
  const l = log.child({ device: 'host' });
  return {
    async summary(): Promise<HostSummary> {
      const [sys, os] = await Promise.all([si.system(), si.osInfo()]);
      const summary: HostSummary = {
        manufacturer: clean(sys.manufacturer),
        model: clean(sys.model),
        serial: clean(sys.serial),
        uuid: clean(sys.uuid),
        os: `${os.distro} ${os.release}`.trim().slice(0, 200),
        kernel: clean(os.kernel),
        arch: os.arch.slice(0, 32),
        hostname: clean(os.hostname),
      };
      l.debug({ summary }, 'host summary');
      return summary;
    },
  };
}
