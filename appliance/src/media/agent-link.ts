// The agent's link to the media edge beside it: which edge (config), and the
// wiring (the 'media' channel in, 'media-stats' out). On a box the edge runs
// under systemd (diemcau-edge.service) with its settings in /etc/diemcau/edge.env;
// the agent reads the admin token and port from that same file unless told
// otherwise, so one file configures both. Simulated boxes have no edge unless
// DIEMCAU_EDGE_URL names one.
import fs from 'node:fs';
import type { Logger } from 'pino';
import type { DeviceSubscribeChannel, DevicePublishChannel } from '@diemcau/shared';
import { EdgeClient } from './client.js';

export type EdgeLinkConfig =
  | { kind: 'edge'; url: string; adminToken: string; publicUrl: string | null; ca?: string }
  | { kind: 'none'; reason: string }
  | { kind: 'invalid'; problems: string[] };

const DEFAULT_EDGE_ENV_FILE = '/etc/diemcau/edge.env';
const DEFAULT_PORT = '7443';

/** KEY=value lines (systemd EnvironmentFile style; quotes stripped, comments skipped). */
export function parseEnvFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (!m) continue;
    out[m[1]!] = m[2]!.replace(/^(['"])(.*)\1$/, '$2');
  }
  return out;
}

function readEnvFile(file: string): Record<string, string> | null {
  try {
    return parseEnvFile(fs.readFileSync(file, 'utf8'));
  } catch {
    return null;
  }
}

/**
 * DIEMCAU_EDGE_URL, DIEMCAU_EDGE_ADMIN_TOKEN, DIEMCAU_EDGE_PUBLIC_URL; on real
 * hardware the missing ones come from the edge's env file (DIEMCAU_EDGE_ENV_FILE).
 * An https edge's certificate is checked against DIEMCAU_CA_FILE, else the CA
 * the box stored at enrolment (linkEdge).
 */
export function edgeLinkFromEnv(env: NodeJS.ProcessEnv, hardware: 'real' | 'simulated'): EdgeLinkConfig {
  const get = (k: string): string | undefined => env[k]?.trim() || undefined;
  if (get('DIEMCAU_EDGE') === 'none') return { kind: 'none', reason: 'DIEMCAU_EDGE=none' };
  let url = get('DIEMCAU_EDGE_URL');
  let adminToken = get('DIEMCAU_EDGE_ADMIN_TOKEN');
  if (!url && hardware === 'simulated') return { kind: 'none', reason: 'simulated hardware and no DIEMCAU_EDGE_URL' };
  const edgeEnvFile = get('DIEMCAU_EDGE_ENV_FILE') ?? DEFAULT_EDGE_ENV_FILE;
  const edgeEnv = url && adminToken ? {} : (readEnvFile(edgeEnvFile) ?? {});
  url ??= `http://127.0.0.1:${edgeEnv.DIEMCAU_EDGE_PORT?.trim() || DEFAULT_PORT}`;
  adminToken ??= edgeEnv.DIEMCAU_EDGE_ADMIN_TOKEN?.trim() || undefined;
  const problems: string[] = [];
  if (!/^https?:\/\/[^/]+/.test(url)) problems.push(`DIEMCAU_EDGE_URL: not an http(s) URL: ${url}`);
  if (!adminToken) problems.push(`DIEMCAU_EDGE_ADMIN_TOKEN: not set, nor in ${edgeEnvFile}`);
  const publicUrl = get('DIEMCAU_EDGE_PUBLIC_URL') ?? null;
  if (publicUrl && !/^https?:\/\/[^/]+/.test(publicUrl)) problems.push(`DIEMCAU_EDGE_PUBLIC_URL: not an http(s) URL: ${publicUrl}`);
  const caFile = get('DIEMCAU_CA_FILE');
  let ca: string | undefined;
  if (caFile) {
    try {
      ca = fs.readFileSync(caFile, 'utf8');
    } catch {
      // An unreadable CA file is a config error, never a reason to trust anyone.
      problems.push(`DIEMCAU_CA_FILE: cannot read ${caFile}`);
    }
  }
  if (problems.length > 0 || !adminToken) return { kind: 'invalid', problems };
  return { kind: 'edge', url: url.replace(/\/+$/, ''), adminToken, publicUrl: publicUrl?.replace(/\/+$/, '') ?? null, ...(ca ? { ca } : {}) };
}

/** What of the agent the link needs (Agent satisfies it). */
export interface LinkableAgent {
  router: { on(channel: DeviceSubscribeChannel, handler: (payload: Buffer) => void | Promise<void>): () => void };
  session: { publish(channel: DevicePublishChannel, payload: string, opts: { qos: 0 | 1 }): Promise<void> };
  /** The box's identity: its stored CA (caCert) is trusted for an https edge. */
  identity?: { caCert?: string | undefined };
}

export interface EdgeLink {
  readonly client: EdgeClient | null;
  close(): void;
}

/** Routes plans to the edge and its stats to the fleet; with no edge, says so once and does nothing. */
export function linkEdge(o: { agent: LinkableAgent; config: EdgeLinkConfig; log: Logger; statsIntervalMs?: number }): EdgeLink {
  const log = o.log.child({ module: 'edge-link' });
  if (o.config.kind !== 'edge') {
    log.info({ reason: o.config.kind === 'none' ? o.config.reason : o.config.problems }, 'no media edge on this box; media plans are ignored');
    return { client: null, close: () => {} };
  }
  const ca = o.config.ca ?? o.agent.identity?.caCert;
  const client = new EdgeClient({
    url: o.config.url,
    adminToken: o.config.adminToken,
    ...(ca ? { ca } : {}),
    log,
    statsIntervalMs: o.statsIntervalMs,
    // Stats are a live view: lost ones are not worth queueing on disk.
    publishStats: (json) => o.agent.session.publish('media-stats', json, { qos: 0 }).catch((err: unknown) => log.debug({ err }, 'media stats not sent')),
  });
  const off = o.agent.router.on('media', (payload) => client.forwardPlan(payload));
  client.start();
  log.info({ url: o.config.url, publicUrl: o.config.publicUrl }, 'media edge linked');
  // Without it the fleet cannot point other edges here: this box can only be a leaf.
  if (!o.config.publicUrl) log.warn('DIEMCAU_EDGE_PUBLIC_URL not set: no mediaUrl in the birth, other edges cannot link to this one');
  let closed = false;
  return {
    client,
    close: () => {
      if (closed) return;
      closed = true;
      off();
      client.close();
    },
  };
}
