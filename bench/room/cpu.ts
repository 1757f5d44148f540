// CPU seconds used so far by processes (utime + stime from /proc), for bench:room's shares of a core.
import fs from 'node:fs';

/** Clock ticks a second: 100 on Linux. */
const HZ = 100;

export function cpuSeconds(pids: readonly number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // The process is gone: it counts nothing more.
    }
  }
  return ticks / HZ;
}
