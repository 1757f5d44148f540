import type { Command, CommandResult } from '@diemcau/shared';

// What the agent does with a command it hears, given what its idempotency
// store remembers about that id. Pure, so the at-most-once rules are tested
// without a broker or a disk:
//   done before      → answer again with the stored result, run nothing
//   running now      → ignore (the run in progress will answer)
//   never seen, late → answer 'expired', run nothing (and remember that)
//   never seen       → record 'running' on disk first, then run

export type StoredEntry =
  | { state: 'running'; id: string; type: Command['type']; startedAt: string; expiresAt: string }
  | { state: 'done'; id: string; type: Command['type']; result: CommandResult; expiresAt: string };

export type Decision =
  | { action: 'replay'; result: CommandResult }
  | { action: 'ignore'; reason: 'running' }
  | { action: 'expire'; result: CommandResult }
  | { action: 'run' };

export function decide(cmd: Command, entry: StoredEntry | undefined, now: Date): Decision {
  if (entry?.state === 'done') return { action: 'replay', result: entry.result };
  if (entry?.state === 'running') return { action: 'ignore', reason: 'running' };
  if (Date.parse(cmd.expiresAt) <= now.getTime()) {
    return {
      action: 'expire',
      result: {
        v: 1,
        commandId: cmd.id,
        status: 'expired',
        at: now.toISOString(),
        error: { code: 'APPL_ERR_COMMAND_EXPIRED', message: `arrived after its expiry ${cmd.expiresAt}` },
      },
    };
  }
  return { action: 'run' };
}

/**
 * Commands whose whole point is to stop the agent: finding one still 'running'
 * after a start means it did its job (the box or the agent restarted).
 */
export const RESTARTING_TYPES: ReadonlySet<Command['type']> = new Set(['reboot', 'restart-agent']);

/** The answer for a command the agent was running when it stopped. */
export function recoverInterrupted(entry: Extract<StoredEntry, { state: 'running' }>, now: Date): CommandResult {
  if (RESTARTING_TYPES.has(entry.type)) {
    return {
      v: 1,
      commandId: entry.id,
      status: 'succeeded',
      at: now.toISOString(),
      output: { restartedAt: now.toISOString() },
    };
  }
  // Not run again: it may have half-happened, and at-most-once is the promise.
  return {
    v: 1,
    commandId: entry.id,
    status: 'failed',
    at: now.toISOString(),
    error: {
      code: 'APPL_ERR_COMMAND_INTERRUPTED',
      message: `the agent stopped while running ${entry.type} (started ${entry.startedAt})`,
    },
  };
}

/** Entries past their expiry (plus a margin) can go: a late duplicate is answered 'expired' anyway. */
export function prunable(entry: StoredEntry, now: Date, marginMs: number): boolean {
  return entry.state === 'done' && Date.parse(entry.expiresAt) + marginMs < now.getTime();
}
