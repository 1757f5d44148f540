import type { ProcessRunner } from '../process-runner.js';
import type { Log, Power, PowerRequest } from '../types.js';

// Reboot and agent restart through systemd. `--no-block` on the restart:
// systemctl would otherwise wait for the stop of the very process that runs
// it and be killed half-way.

export function createRealPower(opts: {
  systemctl: string;
  agentUnit: string;
  runner: ProcessRunner;
  log: Log;
}): Power {
  const log = opts.log.child({ device: 'power' });
  const listeners = new Set<(r: PowerRequest) => void>();
  const request = async (action: PowerRequest['action'], reason: string, args: string[]) => {
    const req: PowerRequest = { action, reason, at: new Date().toISOString() };
    log.warn({ action, reason }, 'asking systemd');
    await opts.runner.run(opts.systemctl, args, { timeoutMs: 30_000 });
    for (const l of listeners) {
      try {
        l(req);
      } catch (err) {
        log.error({ err }, 'power listener threw');
      }
    }
  };
  return {
    // --message lands in the journal next to the shutdown, for whoever reads it on site.
    reboot: (reason) => request('reboot', reason, ['reboot', `--message=diemcau: ${reason.slice(0, 200)}`]),
    restartAgent: (reason) => request('restart-agent', reason, ['restart', '--no-block', opts.agentUnit]),
    onRequest(l) {
      listeners.add(l);
      return () => void listeners.delete(l);
    },
  };
}
