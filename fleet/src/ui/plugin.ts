import fs from 'node:fs';
import path from 'node:path';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fastifyStatic from '@fastify/static';
import { Gauge, type Registry } from 'prom-client';
import { Type } from '@sinclair/typebox';
import { DiemcauError } from '@diemcau/shared';
import type { Operator } from '../db/operators-repo.js';
import { deviceForRequest } from '../api/auth.js';
import { AckOut, SessionOut } from '../api/schemas.js';
import { siteScopeOf } from '../access.js';
import type { Alert } from '../db/alerts-repo.js';
import { AcksRepo } from './acks.js';
import { dashboardHeaders } from './delivery.js';
import { StreamHub } from './event-stream.js';
import { wireBus, wireIngest } from './bus-wiring.js';
import { relayed } from './cluster-relay.js';
import type { Viewer } from './ui-events.js';
import { fleetPackageDir } from '../package-dir.js';

// The operators' dashboard: the bundle built by fleet/scripts/build-ui.mjs at
// `/`, the live feed at GET /api/v1/events (server-sent events from the fleet's
// event bus, filtered to what the operator may see), and alert acknowledgements.

const DEFAULT_BUILD_DIR = path.join(fleetPackageDir(), 'public', 'build');

export interface UiPluginOptions {
  /** Where the bundle is; default: the fleet tree's `ui.buildDir`, else fleet/public/build. */
  buildDir?: string;
  heartbeatMs?: number;
  /** Origins of the edges' join pages the dashboard may frame (the chair's roll-call picture); none by default. */
  frameOrigins?: () => readonly string[];
}

export async function uiPlugin(app: FastifyInstance, opts: UiPluginOptions = {}): Promise<void> {
  const ctx = app.fleet;
  const log = ctx.log.child({ module: 'ui' });
  const buildDir = path.resolve(opts.buildDir ?? ctx.config.ui.buildDir ?? DEFAULT_BUILD_DIR);
  const hub = new StreamHub({ log, heartbeatMs: opts.heartbeatMs });
  const acks = await AcksRepo.open(ctx.db);
  const deviceHub = new StreamHub({ log, heartbeatMs: opts.heartbeatMs });
  // In a cluster, events of every node reach this node's streams (cluster-relay.ts).
  const main = relayed(hub, 'main', ctx.bus);
  const devices = relayed(deviceHub, 'device', ctx.bus);
  const unwire = wireBus(ctx.events, main.sink);
  // A revoked token keeps nothing open: its streams end at once (they were opened under the operator's id), on every node.
  const endStreams = (operatorId: string): void => {
    const ended = hub.end(operatorId) + deviceHub.end(operatorId);
    if (ended > 0) log.info({ operatorId, ended }, 'live feed closed: operator revoked');
  };
  const unRevoke = ctx.events.on('operator-revoked', ({ operatorId }) => {
    endStreams(operatorId);
    ctx.bus?.publish('operator-revoked', operatorId);
  });
  const unRevokeRemote = ctx.bus?.subscribe('operator-revoked', (id) => typeof id === 'string' && endStreams(id));
  // Telemetry goes to device streams only; with other nodes, one of them may be watching.
  const deviceSink = ctx.bus ? devices.sink : deviceHub;
  // Every telemetry sample asks in a cluster (another node may be watching): look-ups of one turn share a query.
  const unIngest = wireIngest(
    ctx.ingest,
    async (id) => (await ctx.repos.devices.siteOf(id))?.siteId,
    main.sink,
    deviceSink,
    log,
  );
  registerMetrics(ctx.metrics.registry, hub);
  app.addHook('preClose', async () => {
    hub.close();
    deviceHub.close();
  });
  app.addHook('onClose', async () => {
    unwire();
    unIngest();
    unRevoke();
    unRevokeRemote?.();
    main.off();
    devices.off();
  });

  // --- the bundle -----------------------------------------------------------
  // serve:false: files are sent by the two routes below, which are public (the
  // page must load before anyone has signed in) and nothing else is exposed.
  await app.register(fastifyStatic, { root: buildDir, serve: false });
  if (!fs.existsSync(path.join(buildDir, 'index.html'))) {
    log.warn({ buildDir }, 'dashboard bundle missing; run `node fleet/scripts/build-ui.mjs`');
  }
  app.get('/', { config: { public: true }, schema: { hide: true } }, (_req, reply) => {
    if (!fs.existsSync(path.join(buildDir, 'index.html'))) {
      return reply
        .code(503)
        .type('text/plain')
        .send('The dashboard is not built: run `node fleet/scripts/build-ui.mjs`.\n');
    }
    // The page may frame the edges the fleet knows (the chair's roll-call picture); an edge
    // that announces its address later is framed after the next reload.
    return dashboardHeaders(reply, opts.frameOrigins?.() ?? [])
      .header('cache-control', 'no-cache')
      .sendFile('index.html');
  });
  app.get<{ Params: { '*': string } }>('/ui/*', { config: { public: true }, schema: { hide: true } }, (req, reply) => {
    // A public route: only plain file paths inside the bundle. A dot segment
    // (`/ui/../api/v1/sites`, the router decodes %2e) or a backslash is a
    // probe, answered like any missing file rather than with send's 403.
    const file = req.params['*'];
    if (/(^|[\\/])\.\.?([\\/]|$)|[\\\0]/.test(file)) throw new DiemcauError('FLEET_ERR_NOT_FOUND', 'no such file');
    return dashboardHeaders(reply).header('cache-control', 'no-cache').sendFile(file);
  });

  // --- live feed ------------------------------------------------------------
  // Documents the stream for the OpenAPI document only: the handlers hijack
  // the reply and write events themselves, so fastify never serialises it.
  const EventStream = {
    description: 'Server-sent events, one JSON object per `data:` line; the stream stays open',
    content: { 'text/event-stream': { schema: Type.String() } },
  };
  app.get(
    '/api/v1/events',
    {
      schema: {
        tags: ['dashboard'],
        summary: 'Live presence, alert and command changes as server-sent events, limited to what the operator may see',
        response: { 200: EventStream },
      },
    },
    (req, reply) => {
      const op = operatorOf(req);
      reply.hijack();
      hub.attach(reply.raw, viewerOf(app, op), op.id);
    },
  );

  app.get<{ Params: { id: string } }>(
    '/api/v1/devices/:id/live',
    {
      schema: {
        tags: ['dashboard'],
        summary: "One device's telemetry samples and self-tests as server-sent events, for its page",
        params: Type.Object({ id: Type.String({ maxLength: 64 }) }),
        response: { 200: EventStream, 403: Type.Ref('Error'), 404: Type.Ref('Error') },
      },
    },
    async (req, reply) => {
      const op = operatorOf(req);
      const device = await deviceForRequest(app, req, req.params.id); // 404 unknown, 403 outside the area
      reply.hijack();
      deviceHub.attach(reply.raw, viewerOf(app, op), op.id, (e) => 'deviceId' in e && e.deviceId === device.id);
    },
  );

  app.get(
    '/api/v1/ui/session',
    {
      schema: {
        tags: ['dashboard'],
        summary:
          "Who the token belongs to: name, role and area (districtId: the area's root site when it is a subtree)",
        response: { 200: SessionOut },
      },
    },
    async (req) => {
      const op = operatorOf(req);
      return { id: op.id, name: op.name, role: op.role, area: op.area, districtId: op.districtId };
    },
  );

  // Names only (no role, area or token): a command's sender and an audit
  // entry's author read as people, not ids, on every page.
  app.get(
    '/api/v1/ui/operator-names',
    {
      schema: {
        tags: ['dashboard'],
        summary: "Operators' names by id, so the pages name who sent a command",
        response: { 200: Type.Object({ items: Type.Array(Type.Object({ id: Type.String(), name: Type.String() })) }) },
      },
    },
    async (req) => {
      const op = operatorOf(req);
      // Promise.resolve: the registry's reads may be synchronous or not, depending on the store.
      const all = await Promise.resolve(ctx.repos.operators.list());
      const items = all.map((o) => ({ id: o.id, name: o.name }));
      if (!items.some((o) => o.id === op.id)) items.push({ id: op.id, name: op.name });
      return { items };
    },
  );

  // --- acknowledgements -------------------------------------------------------
  const visibleAlert = async (op: Operator, id: number): Promise<Alert> => {
    const alert = await ctx.repos.alerts.get(id);
    if (!alert || !canSee(op, alert.siteId)) throw new DiemcauError('FLEET_ERR_NOT_FOUND', `alert ${id}`);
    return alert;
  };
  const canSee = (op: Operator, siteId: string | null): boolean => {
    const scope = siteScopeOf(app.fleet.sites.siteIndex(), op);
    return scope === null || (siteId !== null && scope.has(siteId));
  };

  app.post<{ Params: { id: number }; Body: { note?: string } }>(
    '/api/v1/alerts/:id/ack',
    {
      config: { roles: ['admin', 'area-operator'] },
      schema: {
        tags: ['alerts'],
        summary: 'Acknowledge an alert with a note (seen, someone is on it)',
        params: Type.Object({ id: Type.Integer({ minimum: 1 }) }),
        body: Type.Object({ note: Type.Optional(Type.String({ maxLength: 500 })) }, { additionalProperties: false }),
        response: { 200: AckOut },
      },
    },
    async (req) => {
      const op = operatorOf(req);
      const alert = await visibleAlert(op, req.params.id);
      const ack = await acks.acknowledge(alert.id, { id: op.id, name: op.name }, (req.body.note ?? '').trim());
      req.auditTarget = `alert:${alert.id}`;
      req.auditDetails = { note: ack.note, type: alert.type, siteId: alert.siteId };
      hub.publish({ type: 'ack', ack, siteId: alert.siteId });
      return ack;
    },
  );

  app.get<{ Querystring: { limit?: number } }>(
    '/api/v1/alert-acks',
    {
      schema: {
        tags: ['alerts'],
        summary: 'Acknowledgements of the most recent alerts',
        querystring: Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 2000, default: 1000 })) }),
        response: { 200: Type.Object({ items: Type.Array(AckOut) }) },
      },
    },
    async (req) => {
      const op = operatorOf(req);
      const all = siteScopeOf(app.fleet.sites.siteIndex(), op) === null;
      const recent = await acks.recent(req.query.limit ?? 1000);
      if (all) return { items: recent };
      const items = [];
      for (const a of recent) {
        const alert = await ctx.repos.alerts.get(a.alertId);
        if (alert !== undefined && canSee(op, alert.siteId)) items.push(a);
      }
      return { items };
    },
  );
}

/** Open dashboards and what they were sent, read when /metrics is scraped. */
function registerMetrics(registry: Registry, hub: StreamHub): void {
  const registers = [registry];
  new Gauge({
    name: 'diemcau_dashboard_streams',
    help: 'Open dashboard event streams',
    registers,
    collect() {
      this.set(hub.size);
    },
  });
  new Gauge({
    name: 'diemcau_dashboard_events_sent',
    help: 'Events written to dashboard streams since start',
    registers,
    collect() {
      this.set(hub.stats.sent);
    },
  });
  new Gauge({
    name: 'diemcau_dashboard_streams_dropped',
    help: 'Dashboard streams cut off for not reading',
    registers,
    collect() {
      this.set(hub.stats.dropped);
    },
  });
}

function operatorOf(req: FastifyRequest): Operator {
  if (!req.operator) throw new DiemcauError('FLEET_ERR_UNAUTHORIZED');
  return req.operator;
}

// The API's rule (access.ts): only area operators are limited, to their
// area; one without an area sees nothing.
const viewerOf = (app: FastifyInstance, op: Operator): Viewer => ({
  scope: siteScopeOf(app.fleet.sites.siteIndex(), op),
  hideSerials: op.role === 'viewer',
});
