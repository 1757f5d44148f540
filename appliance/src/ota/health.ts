// The health gate a new version must pass before its update is committed:
// it is connected to the fleet again and its self-test passes, both within
// the gate's time. Each check is injected: the agent passes its MQTT session
// and its peripheral self-test, a test passes whatever stands in for them.
import { setTimeout as sleep } from 'node:timers/promises';

export interface HealthChecks {
  /** Resolves true once connected to the fleet (false when it gives up). */
  connected(signal: AbortSignal): Promise<boolean>;
  /** Resolves with null when healthy, or why not. */
  selfTest(signal: AbortSignal): Promise<string | null>;
}

export type HealthResult = { ok: true } | { ok: false; code: 'APPL_ERR_OTA_HEALTH'; message: string };

export async function runHealthGate(checks: HealthChecks, timeoutMs: number): Promise<HealthResult> {
  const ac = new AbortController();
  const timeout = sleep(timeoutMs, 'timeout' as const, { signal: ac.signal }).catch(() => 'aborted' as const);
  const gate = (async (): Promise<HealthResult> => {
    if (!(await checks.connected(ac.signal)))
      return { ok: false, code: 'APPL_ERR_OTA_HEALTH', message: 'did not reconnect to the fleet' };
    const failure = await checks.selfTest(ac.signal);
    return failure === null
      ? { ok: true }
      : { ok: false, code: 'APPL_ERR_OTA_HEALTH', message: `self-test failed: ${failure}` };
  })().catch((err: unknown): HealthResult => ({
    ok: false,
    code: 'APPL_ERR_OTA_HEALTH',
    message: `health check threw: ${(err as Error).message}`,
  }));
  try {
    const first = await Promise.race([gate, timeout]);
    if (first === 'timeout' || first === 'aborted') {
      return { ok: false, code: 'APPL_ERR_OTA_HEALTH', message: `health gate not passed within ${timeoutMs} ms` };
    }
    return first;
  } finally {
    ac.abort();
  }
}
