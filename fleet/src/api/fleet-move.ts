import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { Counter } from 'prom-client';
import {
  deviceEventCodec,
  deviceTopic,
  DiemcauError,
  MoveStatementSchema,
  newMoveId,
  signMove,
  type FleetMoveEvent,
  type MoveStatement,
} from '@diemcau/shared';
import { mqttUrlsFor } from '../devices/enrol.js';
import { loadTlsFiles } from '../tls.js';
import { authErrors } from './schemas.js';

// Two fleets become one (README, "Merging two fleets"): the fleet that gives
// its boxes away signs, for each box, a statement naming the other fleet's
// brokers, CA and key (shared/src/fleet-move.ts) and retains it on the box's
// 'move' channel. A box follows it only if the key it got at enrolment
// signed it; it reports what it did on its 'events' channel, and this fleet
// counts, logs and audits every answer. The receiving fleet tells what a
// statement must name (GET /fleet/identity), and reloads its registry after
// an offline import (POST /registry/reload).

const Target = MoveStatementSchema.properties.to;

const IdentityOut = Type.Object({
  fleetId: Type.String(),
  publicKey: Type.String(),
  fleetUrl: Type.String(),
  mqttUrls: Type.Array(Type.String()),
  caCert: Type.Optional(Type.String()),
});

export const fleetMoveRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { fleet } = app;
  const log = fleet.log.child({ module: 'fleet-move' });
  // The CA boxes must trust to reach our brokers, read once (the files were checked at start).
  const ca = loadTlsFiles(fleet.config)?.ca?.toString('utf8');
  const answers = new Counter({
    name: 'diemcau_fleet_move_answers_total',
    help: "Boxes' answers to a move to another fleet, by outcome and reason",
    labelNames: ['outcome', 'reason'],
    registers: [fleet.metrics.registry],
  });
  const onAnswer = (deviceId: string, ev: FleetMoveEvent): void => {
    answers.inc({ outcome: ev.outcome, reason: ev.reason ?? '' });
    const entry = { deviceId, moveId: ev.moveId, reason: ev.reason, detail: ev.detail, toFleetId: ev.toFleetId };
    if (ev.outcome === 'refused') log.warn(entry, 'a box refused a move to another fleet');
    else log.info(entry, 'a box moved to another fleet');
    fleet.repos.audit
      .record({
        operatorId: null,
        operatorName: null,
        action: 'device.move',
        target: `device:${deviceId}`,
        outcome: ev.outcome,
        details: { moveId: ev.moveId, reason: ev.reason, detail: ev.detail, toFleetId: ev.toFleetId },
      })
      .catch((err: unknown) => log.error({ err, deviceId }, 'cannot audit a move answer'));
  };
  const off = fleet.ingest.on('events', deviceEventCodec, (deviceId, ev) => {
    if (ev.kind === 'fleet-move') onAnswer(deviceId, ev);
  });
  app.addHook('onClose', async () => off());

  app.get(
    '/fleet/identity',
    {
      schema: {
        tags: ['fleet'],
        summary: "This fleet's key, address, brokers and CA: what a move of boxes to this fleet must name",
        response: { 200: IdentityOut, ...authErrors },
      },
    },
    async (request) => {
      const { fleetId, publicKey } = await fleet.repos.fleetKey.get();
      const host = request.hostname.replace(/:\d+$/, '') || '127.0.0.1';
      return {
        fleetId,
        publicKey,
        fleetUrl: `${request.protocol}://${request.host}`,
        mqttUrls: mqttUrlsFor(fleet, host),
        ...(ca ? { caCert: ca } : {}),
      };
    },
  );

  app.post(
    '/fleet/move-out',
    {
      config: { roles: ['admin'] },
      schema: {
        tags: ['fleet'],
        summary: 'Hand boxes over to another fleet: a statement signed with this fleet\u2019s key, retained per box',
        description:
          "Each box follows its statement only if this fleet's key (given to it at enrolment) signed it, it names " +
          'the box and it has not expired. Import the registry into the other fleet first (npm run merge-fleet), ' +
          'so that the boxes\u2019 credentials work there.',
        body: Type.Object(
          {
            to: Target,
            /** Absent: every box of this fleet that is not revoked. */
            deviceIds: Type.Optional(
              Type.Array(Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' }), { minItems: 1, maxItems: 100_000 }),
            ),
            ttlSec: Type.Optional(Type.Integer({ minimum: 60, maximum: 30 * 86_400, default: 7 * 86_400 })),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({ moved: Type.Integer(), expiresAt: Type.String(), toFleetId: Type.String() }),
          ...authErrors,
        },
      },
    },
    async (request) => {
      const { to, deviceIds, ttlSec = 7 * 86_400 } = request.body;
      const key = await fleet.repos.fleetKey.get();
      request.auditTarget = `fleet:${to.trust.fleetId}`;
      if (to.trust.fleetId === key.fleetId || to.trust.publicKey.trim() === key.publicKey.trim())
        throw new DiemcauError('FLEET_ERR_BAD_REQUEST', 'that is this fleet');
      const live = (await fleet.repos.devices.list()).filter((d) => d.revokedAt === null);
      const known = new Set(live.map((d) => d.id));
      const unknown = (deviceIds ?? []).filter((id) => !known.has(id));
      if (unknown.length > 0)
        throw new DiemcauError('FLEET_ERR_UNKNOWN_DEVICE', unknown.slice(0, 5).join(', '), { details: unknown });
      const ids = deviceIds ?? live.map((d) => d.id);
      const now = Date.now();
      const issuedAt = new Date(now).toISOString();
      const expiresAt = new Date(now + ttlSec * 1000).toISOString();
      for (const deviceId of ids) {
        const statement: MoveStatement = {
          v: 1,
          kind: 'fleet-move',
          moveId: newMoveId(),
          deviceId,
          fromFleetId: key.fleetId,
          issuedAt,
          expiresAt,
          to,
        };
        await fleet.broker.publish(deviceTopic(deviceId, 'move'), JSON.stringify(signMove(statement, key.privateKey)), {
          qos: 1,
          retain: true,
        });
      }
      request.auditDetails = { toFleetId: to.trust.fleetId, mqttUrls: to.mqttUrls, devices: ids.length, expiresAt };
      log.info({ toFleetId: to.trust.fleetId, devices: ids.length, expiresAt }, 'boxes handed over to another fleet');
      return { moved: ids.length, expiresAt, toFleetId: to.trust.fleetId };
    },
  );

  app.post(
    '/registry/reload',
    {
      config: { roles: ['admin'] },
      schema: {
        tags: ['fleet'],
        summary: 'Read sites and devices again after the registry was changed offline (npm run merge-fleet --apply)',
        response: { 200: Type.Object({ sites: Type.Integer(), devices: Type.Integer() }), ...authErrors },
      },
    },
    async () => {
      await fleet.sites.reload();
      const devices = (await fleet.repos.devices.list()).filter((d) => !d.revokedAt);
      for (const d of devices) fleet.presence.remember(d.id, d.siteId);
      return { sites: fleet.sites.all().length, devices: devices.length };
    },
  );
};
