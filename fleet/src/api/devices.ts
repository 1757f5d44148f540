import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { DiemcauError } from '@diemcau/shared';
import type { DeviceRecord } from '../db/devices-repo.js';
import { assertSiteAccess, deviceForRequest, siteScope } from './auth.js';
import { authErrors, DeviceDetailOut, DeviceOut, ListOf, TelemetrySampleOut } from './schemas.js';

const DeviceParams = Type.Object({ id: Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' }) });

const out = (d: DeviceRecord) => ({
  id: d.id,
  siteId: d.siteId,
  serial: d.serial,
  online: d.online,
  lastSeenAt: d.lastSeenAt,
  presenceAt: d.presenceAt,
  agentVersion: d.agentVersion,
  os: d.os,
  model: d.model,
  hardware: d.hardware,
  peripherals: d.peripherals,
  enrolledAt: d.enrolledAt,
  revokedAt: d.revokedAt,
  telemetry: d.latest,
});

export const devicesRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/devices',
    {
      schema: {
        tags: ['devices'],
        summary: 'Enrolled devices with their latest telemetry, filtered by site, subtree, relay group or presence',
        querystring: Type.Object({
          siteId: Type.Optional(Type.String()),
          district: Type.Optional(
            Type.String({
              description: 'any site id: devices of it and every site below it (named when that was a district)',
            }),
          ),
          relayGroup: Type.Optional(
            Type.String({ description: "a relay group's id: devices of the sites behind its hub" }),
          ),
          online: Type.Optional(Type.Boolean()),
          revoked: Type.Optional(
            Type.Boolean({
              description:
                'true: the decommissioned devices instead (a site whose box was revoked is not a site that never had one)',
            }),
          ),
        }),
        response: { 200: ListOf(DeviceOut), ...authErrors },
      },
    },
    async (request) => {
      const { siteId, district, relayGroup, online, revoked } = request.query;
      const scope = siteScope(app, request);
      if (siteId !== undefined) assertSiteAccess(app, request, siteId);
      let within: Set<string> | null = null;
      if (district !== undefined) {
        if (!app.fleet.sites.get(district)) throw new DiemcauError('FLEET_ERR_BAD_REQUEST', `no site ${district}`);
        assertSiteAccess(app, request, district);
        within = new Set(app.fleet.sites.subtree(district));
      }
      if (relayGroup !== undefined) {
        if (!app.fleet.sites.relayGroup(relayGroup))
          throw new DiemcauError('FLEET_ERR_BAD_REQUEST', `no relay group ${relayGroup}`);
        const members = app.fleet.sites
          .all()
          .filter((s) => app.fleet.sites.relayGroupOf(s.id)?.id === relayGroup)
          .map((s) => s.id);
        // An area operator narrows to the part of the group it may see (the scope filter below).
        within = new Set(within ? members.filter((id) => within!.has(id)) : members);
      }
      const items = (
        revoked === true ? await app.fleet.repos.devices.listRevoked() : await app.fleet.repos.devices.list()
      )
        .filter((d) => (scope ? scope.has(d.siteId) : true))
        .filter((d) => (siteId === undefined ? true : d.siteId === siteId))
        .filter((d) => (within ? within.has(d.siteId) : true))
        .filter((d) => (online === undefined ? true : d.online === online))
        .map(out);
      return { items };
    },
  );

  app.get(
    '/devices/:id',
    {
      schema: {
        tags: ['devices'],
        summary: 'One device with its peripherals (from its birth) and latest telemetry',
        params: DeviceParams,
        response: { 200: DeviceDetailOut, ...authErrors, 404: Type.Ref('Error') },
      },
    },
    async (request) => {
      const d = await deviceForRequest(app, request, request.params.id);
      return { ...out(d), siteName: app.fleet.sites.get(d.siteId)?.name ?? d.siteId };
    },
  );

  app.get(
    '/devices/:id/telemetry',
    {
      schema: {
        tags: ['devices'],
        summary: 'Stored telemetry samples, newest first, each with its sequence number',
        params: DeviceParams,
        querystring: Type.Object({ limit: Type.Integer({ minimum: 1, maximum: 10_000, default: 100 }) }),
        response: { 200: ListOf(TelemetrySampleOut), ...authErrors, 404: Type.Ref('Error') },
      },
    },
    async (request) => {
      const d = await deviceForRequest(app, request, request.params.id);
      const items = (await app.fleet.repos.telemetry.latest(d.id, request.query.limit)).map((s) => ({
        seq: s.seq,
        at: s.at,
        receivedAt: s.receivedAt,
        data: s.data,
      }));
      return { items };
    },
  );

  app.delete(
    '/devices/:id',
    {
      config: { roles: ['admin'] },
      schema: {
        tags: ['devices'],
        summary: 'Revoke a device: its credentials stop working and it is disconnected at once',
        params: DeviceParams,
        response: { 204: Type.Null(), ...authErrors, 404: Type.Ref('Error') },
      },
    },
    async (request, reply) => {
      const d = await deviceForRequest(app, request, request.params.id);
      await app.fleet.repos.devices.revoke(d.id);
      app.fleet.presence.forget(d.id); // before the disconnect, so it opens no offline alert
      app.fleet.broker.disconnectDevice(d.id);
      request.auditTarget = `device:${d.id}`;
      return reply.status(204).send(null);
    },
  );
};
