// Loads what the device page shows beyond the snapshot. Each part is optional:
// a fleet without a route (yet) leaves that card saying so instead of failing.
import { useEffect, useState } from 'preact/hooks';
import { ApiError, items, type Api } from '../api/client.js';
import type {
  AuditEntry,
  CommandView,
  Device,
  OsReport,
  OtaReport,
  SelfTestResult,
  TelemetryRow,
  TelemetrySample,
} from '../api/types.js';

export type Part<T> =
  | { state: 'loading' }
  | { state: 'ok'; value: T }
  | { state: 'unavailable' }
  | { state: 'forbidden' }
  | { state: 'error'; error: unknown };

export interface DeviceData {
  device: Part<Device>;
  telemetry: Part<TelemetrySample[]>;
  commands: Part<CommandView[]>;
  selfTests: Part<SelfTestResult[]>;
  audit: Part<AuditEntry[]>;
  /** 'unavailable' also when the box has not reported an update yet (404). */
  ota: Part<OtaReport>;
  /** The last operating system update report; 'unavailable' before the first. */
  os: Part<OsReport>;
}

async function part<T>(p: Promise<T>): Promise<Part<T>> {
  try {
    return { state: 'ok', value: await p };
  } catch (err) {
    // 404: no such route on this fleet (yet); 403: not for this role (the audit log is for admins).
    if (err instanceof ApiError && err.status === 404) return { state: 'unavailable' };
    if (err instanceof ApiError && err.status === 403) return { state: 'forbidden' };
    return { state: 'error', error: err };
  }
}

const LOADING: DeviceData = {
  device: { state: 'loading' },
  telemetry: { state: 'loading' },
  commands: { state: 'loading' },
  selfTests: { state: 'loading' },
  audit: { state: 'loading' },
  ota: { state: 'loading' },
  os: { state: 'loading' },
};

export function useDeviceData(api: Api, id: string, reloadKey: number): DeviceData {
  const [data, setData] = useState<DeviceData>(LOADING);
  useEffect(() => {
    let live = true;
    const enc = encodeURIComponent(id);
    void Promise.all([
      part(api.get<Device>(`/api/v1/devices/${enc}`)),
      part(
        api
          .get<{ items: TelemetryRow[] }>(`/api/v1/devices/${enc}/telemetry?limit=720`)
          .then(items)
          .then((rows) => rows.map((r): TelemetrySample => ({ ...r.data, seq: r.seq }))),
      ),
      part(api.get<{ items: CommandView[] }>(`/api/v1/devices/${enc}/commands?limit=50`).then(items)),
      part(
        api
          .get<{ items: { result: SelfTestResult; receivedAt: string }[] }>(
            `/api/v1/devices/${enc}/self-tests?limit=10`,
          )
          .then(items)
          .then((rows) => rows.map((r) => ({ ...r.result, at: r.receivedAt }))),
      ),
      part(
        api
          .get<{ items: AuditEntry[] }>(`/api/v1/audit?target=${encodeURIComponent(`device:${id}`)}&limit=50`)
          .then(items),
      ),
      part(api.get<OtaReport>(`/api/v1/devices/${enc}/ota`)),
      part(api.get<OsReport>(`/api/v1/devices/${enc}/os`)),
    ]).then(([device, telemetry, commands, selfTests, audit, ota, os]) => {
      if (live) setData({ device, telemetry, commands, selfTests, audit, ota, os });
    });
    return () => {
      live = false;
    };
  }, [api, id, reloadKey]);
  return data;
}
