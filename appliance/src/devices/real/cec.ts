import type { TvPower } from '@diemcau/shared';
import { runFailure, type ProcessRunner } from '../process-runner.js';
import type { Log } from '../types.js';

// HDMI-CEC through libcec's cec-client in single-command mode
// (`echo "pow 0" | cec-client -s -d 1`). Many mini-PCs have no CEC at all:
// then the tool is missing or finds no adapter, and every call answers
// 'unsupported', said once in the log rather than at every self-test.

/** "power status: on" → 'on'; a TV waking up counts as on, one going to sleep as standby. */
export function parseCecPower(output: string): TvPower {
  const m = /power status:\s*([a-z ]+)/i.exec(output);
  if (!m) return 'unknown';
  const s = m[1]!.trim().toLowerCase();
  if (s === 'on' || s.startsWith('in transition from standby to on')) return 'on';
  if (s === 'standby' || s.startsWith('in transition from on to standby')) return 'standby';
  return 'unknown';
}

/** cec-client ran but found no adapter to talk through. */
export const cecNoAdapter = (output: string): boolean =>
  /autodetect FAILED|could not (open|start) a connection|no adapter/i.test(output);

export type CecResult = { ok: true; output: string } | { ok: false; unsupported: true };

export interface Cec {
  send(command: 'pow 0' | 'on 0' | 'standby 0'): Promise<CecResult>;
}

export function createCec(opts: { bin: string; runner: ProcessRunner; log: Log; timeoutMs?: number }): Cec {
  const log = opts.log.child({ device: 'cec' });
  let told = false;
  const unsupported = (why: string): CecResult => {
    if (!told) log.info({ bin: opts.bin, why }, 'no HDMI-CEC on this host: TV power is unsupported');
    told = true;
    return { ok: false, unsupported: true };
  };
  return {
    async send(command) {
      try {
        const r = await opts.runner.spawn(opts.bin, ['-s', '-d', '1'], {
          input: `${command}\n`,
          timeoutMs: opts.timeoutMs ?? 15_000,
        });
        const output = `${r.stdout.toString('utf8')}\n${r.stderr}`;
        if (cecNoAdapter(output)) return unsupported('no CEC adapter found');
        return { ok: true, output };
      } catch (err) {
        if (runFailure(err) === 'not-installed') return unsupported(`${opts.bin} is not installed`);
        throw err;
      }
    },
  };
}
