// The meetings area as a fleet plugin: registered in app.ts under /api/v1.
// Wrapped with fastify-plugin because it shares one decorator, `meetings`,
// with its siblings: commands and rollouts ask it whether a site is busy.
import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import { DiemcauError } from '@diemcau/shared';
import '../api/types.js';
import { meetingsConfigFromEnv, type MeetingsConfig } from './config.js';
import { createMeetings, type Meetings } from './index.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** The meetings area: `meetings.service.busySites(siteIds, withinMin)` for reboots and rollouts. */
    meetings: Meetings;
  }
}

export interface MeetingsPluginOptions {
  /** Settings beyond the environment's (DIEMCAU_CORE_SIGNAL_URL, ... in config.ts). */
  config?: Partial<MeetingsConfig>;
}

export const meetingsPlugin = fp<MeetingsPluginOptions>(
  async (app: FastifyInstance, opts) => {
    const { fleet } = app;
    const meetings = createMeetings({
      db: fleet.db,
      publish: (topic, payload) => fleet.broker.publish(topic, payload, { qos: 1, retain: true }),
      ingest: fleet.ingest,
      ports: { sites: () => fleet.sites.all(), devices: () => fleet.repos.devices.list() },
      log: fleet.log,
      config: { ...meetingsConfigFromEnv(process.env), ...opts.config },
    });
    app.decorate('meetings', meetings);
    // Closed while the broker still runs (the fleet closes http first).
    app.addHook('onClose', () => meetings.close());
    await meetings.start();
    await app.register(async (scope) =>
      meetings.routes(scope, (req) => {
        if (!req.operator) throw new DiemcauError('FLEET_ERR_UNAUTHORIZED', 'bearer token required');
        return req.operator;
      }),
    );
  },
  { name: 'diemcau-meetings', dependencies: ['diemcau-context'] },
);
