// Fleet nodes of one cluster in the test's own process (buildFleet on one
// Redis and one registry), with short heartbeats and timeouts, and a box
// enrolled through one of them and pointed at any node's broker.
import type { EnrolResponse } from '@diemcau/shared';
import { buildFleet, type Fleet } from '../../src/app.js';
import type { FleetConfig } from '../../src/config.js';
import { ADMIN_TOKEN } from './fleet.js';

type Teardown = { teardown(fn: () => unknown): void };

export async function startNode(
  t: Teardown,
  redisUrl: string,
  dataDir: string,
  name: string,
  config: Partial<FleetConfig> = {},
): Promise<Fleet> {
  const fleet = await buildFleet({
    config: {
      httpPort: 0,
      mqttPort: 0,
      host: '127.0.0.1',
      dataDir,
      adminToken: ADMIN_TOKEN,
      logLevel: 'silent',
      redisUrl,
      nodeId: name,
      clusterHeartbeatMs: 200,
      clusterNodeTimeoutMs: 3000,
      leaderLeaseMs: 3000,
      ...config,
    },
  });
  t.teardown(() => fleet.close());
  return fleet;
}

/** A box enrolled at a site through this node's API. */
export async function enrol(fleet: Fleet, siteId: string): Promise<EnrolResponse> {
  const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };
  const tok = await fleet.http.inject({
    method: 'POST',
    url: `/api/v1/sites/${siteId}/enrollment-tokens`,
    headers: auth,
    payload: {},
  });
  const res = await fleet.http.inject({
    method: 'POST',
    url: '/api/v1/enroll',
    payload: { token: tok.json<{ token: string }>().token, hardware: { agentVersion: '0.1.0' } },
  });
  if (res.statusCode !== 200) throw new Error(`enrol: ${res.statusCode} ${res.body}`);
  return res.json<EnrolResponse>();
}

/** The box's credentials pointed at one node's broker (with another password, to try one). */
export const at = (fleet: Fleet, e: EnrolResponse, password = e.mqtt.password): EnrolResponse => ({
  ...e,
  mqtt: { ...e.mqtt, url: `mqtt://127.0.0.1:${fleet.mqttPort}`, password },
});
