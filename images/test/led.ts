// The status LED on the booted image. QEMU's x86 machines have no GPIO, and
// Debian 12's kernel builds neither gpio-sim nor gpio-mockup, so the test
// gives the box a simulated line shaped like the kernel's sysfs GPIO
// interface that onoff drives: a tmpfs over /sys/class/gpio holding `export`
// and an exported line (value, direction, active_low, edge), made by a
// test-only unit before each start of the agent (installed over the guest
// agent, never in the image). The agent drives it as it drives a real line
// (onoff, DIEMCAU_GPIO_LED); the test samples the line's level inside the box
// and names the pattern by its rhythm.
import type { LedPatternName } from '@diemcau/shared';
import { PATTERNS } from '../../appliance/src/devices/gpio/led.js';

/** The simulated line the agent is told to drive. */
export const LED_LINE = 17;
const dir = `/sys/class/gpio/gpio${LED_LINE}`;

/** A oneshot unit ordered before the agent: the sysfs-shaped tree, owned by the agent's gpio group. */
export const LED_UNIT = `[Unit]
Description=Simulated GPIO line for the status LED (image test only)
DefaultDependencies=no
Before=diemcau-agent.service
After=local-fs.target

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/sh -c 'mountpoint -q /sys/class/gpio || mount -t tmpfs -o mode=0755 gpio-sim /sys/class/gpio; cd /sys/class/gpio && mkdir -p gpio${LED_LINE} && : > export && : > unexport && for f in value active_low; do [ -e gpio${LED_LINE}/$$f ] || echo 0 > gpio${LED_LINE}/$$f; done && echo out > gpio${LED_LINE}/direction && echo none > gpio${LED_LINE}/edge && chgrp -R gpio . && chmod 0660 export unexport gpio${LED_LINE}/*'

[Install]
WantedBy=multi-user.target
`;

export interface LedSample {
  ms: number;
  /** Reads of the line. */
  n: number;
  /** Share of reads that found it lit. */
  lit: number;
  /** Times it went from dark to lit. */
  rises: number;
}

/** A node one-liner for the box: reads the line every 10 ms for `ms`, prints a LedSample. */
export const sampleScript = (ms: number): string =>
  `const fs=require('fs');const t0=Date.now();let n=0,hi=0,rises=0,last=null;` +
  `const tick=()=>{const v=fs.readFileSync('${dir}/value','utf8').trim()==='1';n++;if(v)hi++;` +
  `if(last===false&&v)rises++;last=v;if(Date.now()-t0<${ms})setTimeout(tick,10);` +
  `else console.log(JSON.stringify({ms:Date.now()-t0,n,lit:hi/n,rises}))};tick();`;

/** What a pattern looks like to the sampler: rises per second and share of time lit. */
function expected(p: LedPatternName): { perSec: number; lit: number } {
  const steps = PATTERNS[p];
  const cycle = steps.reduce((s, [, d]) => s + d, 0);
  if (cycle === 0) return { perSec: 0, lit: steps[0]![0] };
  const rises = steps.filter(([l], i) => l === 1 && steps[(i + steps.length - 1) % steps.length]![0] === 0).length;
  const lit = steps.reduce((s, [l, d]) => s + (l === 1 ? d : 0), 0) / cycle;
  return { perSec: (rises * 1000) / cycle, lit };
}

/**
 * The pattern nearest to a sample. A loaded host stretches the agent's timers
 * and the sampler's, so rhythms are compared loosely: rate relative to the
 * pattern's own, and the lit share.
 */
export function namePattern(s: LedSample): LedPatternName {
  const perSec = s.rises / (s.ms / 1000);
  let best: LedPatternName = 'off';
  let bestD = Infinity;
  for (const p of Object.keys(PATTERNS) as LedPatternName[]) {
    if (p === 'identify') continue; // a 3 s flash over another pattern, never a state
    const e = expected(p);
    const d = Math.abs(perSec - e.perSec) / (e.perSec + 0.5) + 2 * Math.abs(s.lit - e.lit);
    if (d < bestD) [best, bestD] = [p, d];
  }
  return best;
}
