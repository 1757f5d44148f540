// The agent's link to the media edge beside it: which edge (config), and the
// wiring (the 'media' channel in, 'media-stats' out). On a box the edge runs
// under systemd (diemcau-edge.service) with its settings in /etc/diemcau/edge.env;
// the agent reads the admin token and port from that same file unless told
// otherwise, so one file configures both. Simulated boxes have no edge unless
// DIEMCAU_EDGE_URL names one.
import fs from 'node:fs';
import type { Logger } from 'pino';
import { Type, type Static } from '@sinclair/typebox';
import {
  loadSettings,
  settingsProblems,
  settingsSection,
  type DeviceSubscribeChannel,
  type DevicePublishChannel,
  type Env,
} from '@diemcau/shared';
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

/** The `edge` section of the agent's tree: which media edge beside the box. */
export const EdgeLinkSettingsSchema = settingsSection(
  {
    mode: Type.Union([Type.Literal('auto'), Type.Literal('none')], {
      default: 'auto',
      env: 'DIEMCAU_EDGE',
      description: 'none: this box has no media edge',
    }),
    url: Type.Optional(
      Type.String({
        pattern: '^https?://[^/]+',
        env: 'DIEMCAU_EDGE_URL',
        docDefault: '`http://127.0.0.1:<DIEMCAU_EDGE_PORT>` on real hardware',
        description: "the local media edge's API (simulated boxes have none unless set)",
      }),
    ),
    adminToken: Type.Optional(
      Type.String({
        minLength: 1,
        env: 'DIEMCAU_EDGE_ADMIN_TOKEN',
        docDefault: "from the edge's env file",
        description: "the edge's admin token",
      }),
    ),
    publicUrl: Type.Optional(
      Type.String({
        pattern: '^https?://[^/]+',
        env: 'DIEMCAU_EDGE_PUBLIC_URL',
        description: 'the edge as other edges reach it',
      }),
    ),
    envFile: Type.String({
      minLength: 1,
      default: DEFAULT_EDGE_ENV_FILE,
      env: 'DIEMCAU_EDGE_ENV_FILE',
      description: "the edge's settings file (systemd EnvironmentFile): its port and admin token when not set here",
    }),
  },
  'the media edge beside the box',
);
export type EdgeLinkSettings = Static<typeof EdgeLinkSettingsSchema>;

/**
 * The link from the tree's section; on real hardware the missing URL and token
 * come from the edge's env file. An https edge's certificate is checked
 * against `caFile` (DIEMCAU_CA_FILE), else the CA the box stored at enrolment
 * (linkEdge). `invalid` lists every problem; main.ts stops the box with them.
 */
export function edgeLinkFrom(s: EdgeLinkSettings, hardware: 'real' | 'simulated', caFile?: string): EdgeLinkConfig {
  if (s.mode === 'none') return { kind: 'none', reason: 'DIEMCAU_EDGE=none' };
  let url = s.url;
  let adminToken = s.adminToken;
  if (!url && hardware === 'simulated') return { kind: 'none', reason: 'simulated hardware and no DIEMCAU_EDGE_URL' };
  const edgeEnv = url && adminToken ? {} : (readEnvFile(s.envFile) ?? {});
  url ??= `http://127.0.0.1:${edgeEnv.DIEMCAU_EDGE_PORT?.trim() || DEFAULT_PORT}`;
  adminToken ??= edgeEnv.DIEMCAU_EDGE_ADMIN_TOKEN?.trim() || undefined;
  const problems: string[] = [];
  if (!/^https?:\/\/[^/]+/.test(url)) problems.push(`DIEMCAU_EDGE_URL: not an http(s) URL: ${url}`);
  if (!adminToken)
    problems.push(
      `DIEMCAU_EDGE_ADMIN_TOKEN: not set, nor in ${s.envFile} (DIEMCAU_EDGE=none for a box without a media edge)`,
    );
  const publicUrl = s.publicUrl ?? null;
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
  return {
    kind: 'edge',
    url: url.replace(/\/+$/, ''),
    adminToken,
    publicUrl: publicUrl?.replace(/\/+$/, '') ?? null,
    ...(ca ? { ca } : {}),
  };
}

const SectionOnly = Type.Object({ edge: EdgeLinkSettingsSchema });

/** The section alone from an env object (tests); a value the schema refuses makes the link invalid. */
export function edgeLinkFromEnv(env: Env, hardware: 'real' | 'simulated'): EdgeLinkConfig {
  try {
    const caFile = env.DIEMCAU_CA_FILE?.trim() || undefined;
    return edgeLinkFrom(loadSettings(SectionOnly, { env }, 'APPL_ERR_CONFIG').settings.edge, hardware, caFile);
  } catch (err) {
    return { kind: 'invalid', problems: settingsProblems(err) ?? [String(err)] };
  }
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
  /** Whether the newest media plan has this edge in a live meeting (an OS update waits then). */
  inMeeting(): boolean;
  close(): void;
}

/** Routes plans to the edge and its stats to the fleet; with no edge, says so once and does nothing. */
export function linkEdge(o: {
  agent: LinkableAgent;
  config: EdgeLinkConfig;
  log: Logger;
  statsIntervalMs?: number;
}): EdgeLink {
  const log = o.log.child({ module: 'edge-link' });
  if (o.config.kind !== 'edge') {
    log.info(
      { reason: o.config.kind === 'none' ? o.config.reason : o.config.problems },
      'no media edge on this box; media plans are ignored',
    );
    return { client: null, inMeeting: () => false, close: () => {} };
  }
  const ca = o.config.ca ?? o.agent.identity?.caCert;
  const client = new EdgeClient({
    url: o.config.url,
    adminToken: o.config.adminToken,
    ...(ca ? { ca } : {}),
    log,
    statsIntervalMs: o.statsIntervalMs,
    // Stats are a live view: lost ones are not worth queueing on disk.
    publishStats: (json) =>
      o.agent.session
        .publish('media-stats', json, { qos: 0 })
        .catch((err: unknown) => log.debug({ err }, 'media stats not sent')),
  });
  const off = o.agent.router.on('media', (payload) => client.forwardPlan(payload));
  client.start();
  log.info({ url: o.config.url, publicUrl: o.config.publicUrl }, 'media edge linked');
  // Without it the fleet cannot point other edges here: this box can only be a leaf.
  if (!o.config.publicUrl)
    log.warn('DIEMCAU_EDGE_PUBLIC_URL not set: no mediaUrl in the birth, other edges cannot link to this one');
  let closed = false;
  return {
    client,
    inMeeting: () => client.plan()?.meetings.some((m) => m.state === 'live') ?? false,
    close: () => {
      if (closed) return;
      closed = true;
      off();
      client.close();
    },
  };
}
