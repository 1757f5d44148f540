import fs from 'node:fs';
import { SetConfigParamsSchema, writeFileAtomicSync, type SetConfigParams } from '@diemcau/shared';
import { TypeCompiler } from '@sinclair/typebox/compiler';

// Settings the fleet may change at run time with 'set-config'. They override
// the agent's start-up config, live in {dataDir}/settings.json so they survive
// a restart, and are applied by whoever listens (the telemetry loop, the logger).

// The schema is the protocol's (shared/), so the fleet refuses a bad change
// before queueing it and the device refuses it again before applying it.
export const RemoteSettingsSchema = SetConfigParamsSchema;
export type RemoteSettings = SetConfigParams;
const check = TypeCompiler.Compile(RemoteSettingsSchema);

/** Every problem with a proposed patch; empty when it is valid and not empty. */
export function validateSettingsPatch(patch: unknown): string[] {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) return ['params must be an object'];
  if (Object.keys(patch).length === 0) return ['params name no setting to change'];
  if (check.Check(patch)) return [];
  return [...check.Errors(patch)].map((e) => `${e.path || '/'}: ${e.message}`);
}

export interface SettingsStore {
  get(): RemoteSettings;
  /** Validates, persists and announces; throws nothing, returns the problems instead. */
  apply(patch: unknown): { ok: true; settings: RemoteSettings } | { ok: false; problems: string[] };
  onChange(listener: (settings: RemoteSettings) => void): () => void;
}

export function createSettingsStore(file: string): SettingsStore {
  let current: RemoteSettings = {};
  try {
    const parsed: unknown = JSON.parse(fs.readFileSync(file, 'utf8'));
    // A file written by an older agent with settings this one does not know is ignored, not fatal.
    if (check.Check(parsed)) current = parsed;
  } catch {
    current = {};
  }
  const listeners = new Set<(s: RemoteSettings) => void>();
  return {
    get: () => ({ ...current }),
    apply(patch) {
      const problems = validateSettingsPatch(patch);
      if (problems.length > 0) return { ok: false, problems };
      current = { ...current, ...(patch as RemoteSettings) };
      writeFileAtomicSync(file, JSON.stringify(current), { fsync: true });
      for (const l of listeners) {
        try {
          l({ ...current });
        } catch {
          // A listener that throws must not undo a setting that is already stored.
        }
      }
      return { ok: true, settings: { ...current } };
    },
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

export interface SettingsTargets {
  telemetryIntervalSec?: (sec: number) => void;
  logLevel?: (level: NonNullable<RemoteSettings['logLevel']>) => void;
}

/**
 * Applies the stored settings now (they outlive restarts) and every change
 * after. Returns the unsubscribe function.
 */
export function bindSettings(settings: SettingsStore, targets: SettingsTargets): () => void {
  const apply = (s: RemoteSettings) => {
    if (s.telemetryIntervalSec !== undefined) targets.telemetryIntervalSec?.(s.telemetryIntervalSec);
    if (s.logLevel !== undefined) targets.logLevel?.(s.logLevel);
  };
  apply(settings.get());
  return settings.onChange(apply);
}
