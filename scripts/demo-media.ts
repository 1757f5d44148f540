// The demo's media: the province's core edge, and four boxes with their own
// media edges (simulated camera and microphone), each box a real agent and a
// real edge process as on a site's mini-PC: the people's committee chairs a
// meeting with a relay group's hub (a district, a former district centre) and
// two sites behind it, cascaded site -> hub -> core. The dashboard's meeting page shows their live stats; the
// communes' TV pages and the browser join page work as on real boxes.
//
// These sites also have a simulated box from the simulator; the fleet hosts
// their rooms on the box that announced a media edge.
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export interface MediaDemoOptions {
  /** The fleet's HTTP base URL and an admin token. */
  base: string;
  token: string;
  dataDir: string;
  /** First of the edges' signalling ports (the core's); the boxes take the next ones. */
  edgePort: number;
  start(name: string, script: string, env: Record<string, string>): ChildProcess;
  say(msg: string): void;
}

export interface MediaDemo {
  meetingId: string;
  children: ChildProcess[];
  /** Where the communes' TVs and the join page are. */
  urls: string[];
}

const TITLE = 'Giao ban trực tuyến (demo)';
const EDGE_ADMIN = randomBytes(18).toString('base64url');

interface SiteRow {
  id: string;
  name: string;
  kind: string;
  parentId: string | null;
}

/** Where the fleet writes the core's plan and the core edge reads it. */
const corePlanFile = (dataDir: string): string => path.join(dataDir, 'core-plan.json');

/** The fleet's settings for a core edge on this machine (set before the fleet starts). */
export function coreFleetEnv(dataDir: string, edgePort: number): Record<string, string> {
  return { DIEMCAU_CORE_PLAN_FILE: corePlanFile(dataDir), DIEMCAU_CORE_SIGNAL_URL: `http://127.0.0.1:${edgePort}` };
}

export async function startMediaDemo(o: MediaDemoOptions): Promise<MediaDemo> {
  const api = async <T>(method: string, p: string, body?: unknown): Promise<T> => {
    const res = await fetch(o.base + p, {
      method,
      headers: {
        authorization: `Bearer ${o.token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(15_000),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${p} answered ${res.status}: ${text.slice(0, 300)}`);
    return JSON.parse(text) as T;
  };
  const sites = (await api<{ items: SiteRow[] }>('GET', '/api/v1/sites')).items;
  const byId = new Map(sites.map((s) => [s.id, s]));
  // A relay group's hub and two sites behind it, whatever the dataset's levels
  // (a district and its communes in 2022, a former centre's box and two
  // communes in the two-tier network).
  const { relayGroups } = await api<{ relayGroups: { hubSiteId: string; siteIds: string[] }[] }>(
    'GET',
    '/api/v1/hierarchy',
  );
  const chair = sites.find((s) => s.kind === 'peoples-committee') ?? sites.find((s) => s.parentId === null);
  const group = relayGroups.find((g) => g.siteIds.filter((id) => id !== g.hubSiteId).length >= 2);
  const hub = group && byId.get(group.hubSiteId);
  if (!chair || !group || !hub)
    throw new Error('the dataset has no top-level site or relay group with two sites behind its hub');
  const behind = group.siteIds
    .filter((id) => id !== group.hubSiteId)
    .slice(0, 2)
    .map((id) => byId.get(id)!);
  const rooms = [chair, hub, ...behind];

  const children: ChildProcess[] = [];
  const rtc = (i: number): Record<string, string> => ({
    DIEMCAU_EDGE_RTC_MIN_PORT: String(40000 + i * 1000),
    DIEMCAU_EDGE_RTC_MAX_PORT: String(40999 + i * 1000),
  });
  children.push(
    o.start('edge-core', 'appliance/src/media/main.ts', {
      DIEMCAU_EDGE_ID: 'core',
      DIEMCAU_EDGE_ROLE: 'core',
      DIEMCAU_EDGE_HARDWARE: 'none',
      DIEMCAU_EDGE_PORT: String(o.edgePort),
      DIEMCAU_EDGE_ADMIN_TOKEN: EDGE_ADMIN,
      DIEMCAU_EDGE_PLAN_FILE: corePlanFile(o.dataDir),
      ...rtc(0),
    }),
  );

  const urls: string[] = [];
  for (const [i, site] of rooms.entries()) {
    const dataDir = path.join(o.dataDir, 'media-boxes', site.id);
    fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    const identity = path.join(dataDir, 'identity.json');
    const enrolled = fs.existsSync(identity);
    const edgeUrl = `http://127.0.0.1:${o.edgePort + 1 + i}`;
    const token = enrolled
      ? null
      : (
          await api<{ token: string }>('POST', `/api/v1/sites/${encodeURIComponent(site.id)}/enrollment-tokens`, {
            uses: 1,
          })
        ).token;
    children.push(
      o.start(`box-${site.id}`, 'appliance/src/main.ts', {
        DIEMCAU_FLEET_URL: o.base,
        DIEMCAU_DATA_DIR: dataDir,
        DIEMCAU_HARDWARE: 'simulated',
        DIEMCAU_EDGE_URL: edgeUrl,
        DIEMCAU_EDGE_PUBLIC_URL: edgeUrl,
        DIEMCAU_EDGE_ADMIN_TOKEN: EDGE_ADMIN,
        ...(token ? { DIEMCAU_ENROLL_TOKEN: token } : {}),
      }),
    );
    // The edge is named after the box: start it once the box has enrolled.
    const t0 = Date.now();
    while (!fs.existsSync(identity)) {
      if (Date.now() - t0 > 60_000) throw new Error(`the media box of ${site.name} did not enrol within a minute`);
      await new Promise((r) => setTimeout(r, 250));
    }
    children.push(
      o.start(`edge-${site.id}`, 'appliance/src/media/main.ts', {
        DIEMCAU_DATA_DIR: dataDir,
        DIEMCAU_EDGE_ROLE: 'site',
        DIEMCAU_EDGE_HARDWARE: 'simulated',
        DIEMCAU_EDGE_PORT: String(o.edgePort + 1 + i),
        DIEMCAU_EDGE_ADMIN_TOKEN: EDGE_ADMIN,
        ...rtc(1 + i),
      }),
    );
    o.say(`media box of ${site.name} enrolled; its edge at ${edgeUrl} (TV page: ${edgeUrl}/kiosk)`);
    urls.push(`${edgeUrl}/kiosk`);
  }

  // One live meeting (a restarted demo finds its own again).
  const live = (
    await api<{ items: Array<{ id: string; title: string; state: string }> }>('GET', '/api/v1/meetings?active=true')
  ).items;
  let meetingId = live.find((m) => m.title === TITLE)?.id;
  if (!meetingId) {
    meetingId = (
      await api<{ id: string }>('POST', '/api/v1/meetings', {
        title: TITLE,
        chairSiteId: chair.id,
        siteIds: rooms.map((r) => r.id),
        durationMin: 8 * 60,
      })
    ).id;
  }
  o.say(`meeting "${TITLE}" live: ${rooms.map((r) => r.name).join(', ')}`);
  return { meetingId, children, urls };
}

/** Waits until every room of the meeting reports media (at most `timeoutMs`), saying how many do. */
export async function awaitMediaStats(
  o: Pick<MediaDemoOptions, 'base' | 'token' | 'say'>,
  meetingId: string,
  timeoutMs = 120_000,
): Promise<boolean> {
  const t0 = Date.now();
  let last = -1;
  while (Date.now() - t0 < timeoutMs) {
    const res = await fetch(`${o.base}/api/v1/meetings/${meetingId}`, {
      headers: { authorization: `Bearer ${o.token}` },
    }).catch(() => null);
    const m = res?.ok ? ((await res.json()) as { stats: Array<{ siteId: string; bitrateBps: number | null }> }) : null;
    const sending = m?.stats.filter((s) => (s.bitrateBps ?? 0) > 0).length ?? 0;
    const total = m?.stats.length ?? 0;
    if (sending !== last)
      o.say(`media: ${sending}/${total} rooms sending (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
    last = sending;
    if (total > 0 && sending === total) return true;
    await new Promise((r) => setTimeout(r, 1000));
  }
  return false;
}
