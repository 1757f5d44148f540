// Whether the box has a network at all: a default route (IPv4 or IPv6) in
// procfs, which exists only with a cable plugged in and an address from
// DHCP. "No network" sends the clerk to the cable; "no connection to the
// fleet" with a route sends the call to the province.
import fs from 'node:fs';
import path from 'node:path';

/** True with a default route that is up, false without, null when procfs cannot be read. */
export function hasDefaultRoute(procRoot: string): boolean | null {
  let v4: string;
  try {
    v4 = fs.readFileSync(path.join(procRoot, 'net', 'route'), 'utf8');
  } catch {
    return null;
  }
  // Iface Destination Gateway Flags ...: destination 00000000 with RTF_UP (0x1).
  for (const line of v4.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f[1] === '00000000' && (parseInt(f[3] ?? '0', 16) & 1) === 1) return true;
  }
  try {
    // dest, prefix length, ..., flags, iface: ::/0 that is not the loopback's unreachable route.
    for (const line of fs.readFileSync(path.join(procRoot, 'net', 'ipv6_route'), 'utf8').split('\n')) {
      const f = line.trim().split(/\s+/);
      if (f[0] === '0'.repeat(32) && f[1] === '00' && f[9] !== 'lo' && (parseInt(f[8] ?? '0', 16) & 1) === 1)
        return true;
    }
  } catch {
    // no IPv6: the IPv4 answer stands
  }
  return false;
}
