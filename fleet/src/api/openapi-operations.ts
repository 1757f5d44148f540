// The operationId of every documented fleet operation, in one table.
// Generated clients name their methods after these, so they are part of the
// API: renaming one breaks every client built from an older document. A
// route moved to another path keeps its id here. A new route must be added
// (test/api/openapi-contract.test.ts fails on an operation without an id).
//
// Keys are the method and the route as fastify registers it (`:param`).

export const operationKey = (method: string, url: string): string => `${method.toUpperCase()} ${url}`;

export const OPERATION_IDS: Readonly<Record<string, string>> = {
  'GET /healthz': 'getHealth',
  'GET /ca': 'getProvinceCaPage',
  'GET /ca.crt': 'getProvinceCaCertificate',
  'GET /ca.pem': 'getProvinceCaPem',

  'GET /api/v1/sites': 'listSites',
  'GET /api/v1/sites/:siteId': 'getSite',
  'GET /api/v1/hierarchy': 'getHierarchy',
  'PUT /api/v1/hierarchy/relay-groups': 'replaceRelayGroups',
  'POST /api/v1/sites/import': 'importSites',
  'POST /api/v1/sites/:siteId/enrollment-tokens': 'createEnrollmentToken',

  'POST /api/v1/enroll': 'enrollDevice',
  'POST /api/v1/preregistrations': 'createPreregistration',
  'GET /api/v1/preregistrations': 'listPreregistrations',
  'DELETE /api/v1/preregistrations/:serial': 'deletePreregistration',

  'GET /api/v1/devices': 'listDevices',
  'GET /api/v1/devices/:id': 'getDevice',
  'DELETE /api/v1/devices/:id': 'revokeDevice',
  'GET /api/v1/devices/:id/telemetry': 'listDeviceTelemetry',
  'GET /api/v1/devices/:id/self-tests': 'listDeviceSelfTests',
  'POST /api/v1/devices/:id/help/resolve': 'resolveDeviceHelpRequest',
  'GET /api/v1/devices/:id/ota': 'getDeviceOtaStatus',
  'GET /api/v1/devices/:id/os': 'getDeviceOsStatus',
  'GET /api/v1/devices/:id/live': 'streamDeviceLive',

  'GET /api/v1/alerts': 'listAlerts',
  'POST /api/v1/alerts/:id/ack': 'acknowledgeAlert',
  'GET /api/v1/alert-acks': 'listAlertAcknowledgements',

  'GET /api/v1/fleet/identity': 'getFleetIdentity',
  'POST /api/v1/fleet/move-out': 'moveDevicesToAnotherFleet',
  'POST /api/v1/registry/reload': 'reloadRegistry',

  'POST /api/v1/operators': 'createOperator',
  'GET /api/v1/operators': 'listOperators',
  'DELETE /api/v1/operators/:id': 'revokeOperator',
  'GET /api/v1/audit': 'listAuditEntries',

  'POST /api/v1/meetings': 'createMeeting',
  'GET /api/v1/meetings': 'listMeetings',
  'GET /api/v1/meetings/:id': 'getMeeting',
  'POST /api/v1/meetings/:id/mute-all': 'muteAllInMeeting',
  'POST /api/v1/meetings/:id/floor': 'giveMeetingFloor',
  'POST /api/v1/meetings/:id/roll-call': 'setMeetingRollCall',
  'POST /api/v1/meetings/:id/end': 'endMeeting',
  'DELETE /api/v1/meetings/:id/requests/:siteId': 'dismissSpeakRequest',
  'GET /api/v1/meetings/:id/readiness': 'getMeetingReadiness',
  'POST /api/v1/meetings/:id/readiness': 'checkMeetingReadiness',
  'GET /api/v1/meetings/:id/readiness/:siteId/snapshot': 'getReadinessSnapshot',
  'POST /api/v1/meetings/:id/join-links': 'createJoinLink',
  'GET /api/v1/meetings/:id/join-links': 'listJoinLinks',
  'DELETE /api/v1/meetings/:id/join-links/:linkId': 'revokeJoinLink',
  'POST /api/v1/meetings/:id/roll-call/picture': 'getRollCallPicture',

  'POST /api/v1/devices/:id/commands': 'sendDeviceCommand',
  'GET /api/v1/devices/:id/commands': 'listDeviceCommands',
  'POST /api/v1/sites/:id/commands': 'sendSiteCommand',
  'GET /api/v1/commands/:id': 'getCommand',
  'GET /api/v1/command-batches/:id': 'getCommandBatch',

  'GET /api/v1/releases': 'listReleases',
  'POST /api/v1/releases': 'registerRelease',
  'GET /api/v1/releases/:version': 'getRelease',
  'PUT /api/v1/releases/:version/artifact': 'uploadReleaseArtifact',
  'GET /api/v1/releases/:version/artifact': 'downloadReleaseArtifact',
  'GET /api/v1/rollouts': 'listRollouts',
  'POST /api/v1/rollouts': 'createRollout',
  'GET /api/v1/rollouts/:id': 'getRollout',
  'POST /api/v1/rollouts/:id/pause': 'pauseRollout',
  'POST /api/v1/rollouts/:id/resume': 'resumeRollout',
  'POST /api/v1/rollouts/:id/abort': 'abortRollout',

  'GET /api/v1/events': 'streamEvents',
  'GET /api/v1/ui/session': 'getSession',
  'GET /api/v1/ui/operator-names': 'listOperatorNames',
};
