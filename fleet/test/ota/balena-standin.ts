// A STAND-IN for the balena API: a small local HTTP server that answers only
// the requests balena-sdk 22 makes for what the balena driver uses (device
// lookups by uuid, release lookup by application and raw_version, pinning a
// device to a release, the supervisor reboot call). It is not balenaCloud or
// openBalena: it understands just the OData filters the sdk sends for those
// calls, keeps its state in memory, and lets a test play the devices
// (online, running release, update status). Listens on 127.0.0.1, port 0.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface StandinDevice {
  id: number;
  uuid: string;
  device_name: string;
  is_connected_to_vpn: boolean;
  is_pinned_on__release: number | null;
  is_running__release: number | null;
  update_status: string | null;
}

export interface StandinRelease {
  id: number;
  commit: string;
  raw_version: string;
  status: string;
}

export interface BalenaStandin {
  url: string;
  app: { id: number; slug: string };
  devices: Map<string, StandinDevice>;
  releases: StandinRelease[];
  reboots: number[];
  /** Every request line seen, for tests that check what the sdk asked. */
  log: string[];
  /** Called after each pin (a test plays the device's supervisor here). */
  onPin: ((d: StandinDevice) => void) | null;
  close(): Promise<void>;
}

const quoted = (s: string): string => s.replace(/^'|'$/g, '').replace(/''/g, "'");

export async function startBalenaStandin(opts: { token: string; appSlug: string }): Promise<BalenaStandin> {
  const app = { id: 9, slug: opts.appSlug };
  let server: http.Server | null = null;
  const s: BalenaStandin = {
    url: '',
    app,
    devices: new Map(),
    releases: [],
    reboots: [],
    log: [],
    onPin: null,
    close: () =>
      new Promise((resolve) => {
        if (!server) return resolve();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };

  const deviceRow = (d: StandinDevice, select: string[] | null, expand: string | null): Record<string, unknown> => {
    const nav = (id: number | null) => (id === null ? null : { __id: id });
    const full: Record<string, unknown> = {
      ...d,
      belongs_to__application: { __id: app.id },
      is_pinned_on__release: nav(d.is_pinned_on__release),
      is_running__release: nav(d.is_running__release),
    };
    // $expand=is_running__release($select=id,commit) returns the related rows inline.
    const ex = expand ? /^(\w+)(?:\(\$select=([\w,]+)\))?$/.exec(expand) : null;
    if (ex && ex[1] === 'is_running__release') {
      const rel = s.releases.find((r) => r.id === d.is_running__release);
      full.is_running__release = rel
        ? [pick(rel as unknown as Record<string, unknown>, ex[2] ? ex[2].split(',') : null)]
        : [];
    }
    return pick(full, select && ex ? [...select, ex[1]!] : select);
  };

  server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://standin');
      s.log.push(`${req.method} ${decodeURIComponent(url.pathname + url.search)}`);
      const send = (status: number, value: unknown) => {
        res
          .writeHead(status, { 'content-type': 'application/json' })
          .end(value === undefined ? '' : JSON.stringify(value));
      };
      if (req.headers.authorization !== `Bearer ${opts.token}`) return send(401, { error: 'unauthorized' });
      const filter = url.searchParams.get('$filter') ?? '';
      const select = url.searchParams.get('$select')?.split(',') ?? null;
      const expand = url.searchParams.get('$expand');

      if (url.pathname === '/v7/application' && req.method === 'GET') {
        const m = /slug eq ('(?:[^']|'')*')/.exec(filter);
        return send(200, { d: m && quoted(m[1]!) === app.slug ? [pick(app, select)] : [] });
      }
      // pine addresses one row as /v7/release(502), several with $filter.
      const byKey = /^\/v7\/release\((\d+)\)$/.exec(url.pathname);
      if ((url.pathname === '/v7/release' || byKey) && req.method === 'GET') {
        const v = /raw_version eq ('(?:[^']|'')*')/.exec(filter);
        const c = /commit eq ('(?:[^']|'')*')/.exec(filter);
        const id = byKey ?? /\bid eq (\d+)/.exec(filter);
        const rows = s.releases.filter(
          (r) =>
            (!v || r.raw_version === quoted(v[1]!)) &&
            (!c || r.commit === quoted(c[1]!)) &&
            (!id || r.id === Number(id[1])),
        );
        return send(200, { d: rows.map((r) => pick({ ...r, belongs_to__application: { __id: app.id } }, select)) });
      }
      if (url.pathname === '/v7/device' && req.method === 'GET') {
        const m = /startswith\(uuid,('(?:[^']|'')*')\)|uuid eq ('(?:[^']|'')*')/.exec(filter);
        const want = m ? quoted((m[1] ?? m[2])!) : null;
        const rows = [...s.devices.values()].filter((d) => want === null || d.uuid.startsWith(want));
        return send(200, { d: rows.map((d) => deviceRow(d, select, expand)) });
      }
      if (url.pathname === '/v7/device' && req.method === 'PATCH') {
        const ids =
          /\bid in \(([\d,]+)\)/.exec(filter)?.[1]?.split(',').map(Number) ??
          (/\bid eq (\d+)/.exec(filter) ? [Number(/\bid eq (\d+)/.exec(filter)![1])] : []);
        const patch = JSON.parse(body || '{}') as { is_pinned_on__release?: number | null };
        for (const d of s.devices.values()) {
          if (!ids.includes(d.id)) continue;
          if ('is_pinned_on__release' in patch) {
            d.is_pinned_on__release = patch.is_pinned_on__release ?? null;
            s.onPin?.(d);
          }
        }
        return send(200, 'OK');
      }
      if (url.pathname === '/supervisor/v1/reboot' && req.method === 'POST') {
        const b = JSON.parse(body || '{}') as { deviceId?: number };
        const d = [...s.devices.values()].find((x) => x.id === b.deviceId);
        if (!d) return send(404, { error: 'no such device' });
        if (!d.is_connected_to_vpn) return send(400, { error: 'device is offline' });
        s.reboots.push(d.id);
        return send(200, { Data: 'OK', Error: null });
      }
      return send(404, { error: `the stand-in does not implement ${req.method} ${url.pathname}` });
    });
  });
  const srv = server;
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  s.url = `http://127.0.0.1:${(srv.address() as AddressInfo).port}/`;
  return s;
}

function pick(row: Record<string, unknown>, fields: string[] | null): Record<string, unknown> {
  if (!fields) return row;
  return Object.fromEntries(fields.filter((f) => f in row).map((f) => [f, row[f]]));
}
