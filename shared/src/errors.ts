// One registry of stable error codes for both programs. A code never changes
// meaning once released; the message may be reworded. `status` is the HTTP
// status where the error reaches an HTTP client.

export const ERRORS = {
  // Protocol (either side)
  PROTO_ERR_TOO_LARGE: { message: 'payload is larger than the limit', status: 413 },
  PROTO_ERR_NOT_JSON: { message: 'payload is not valid JSON', status: 400 },
  PROTO_ERR_SCHEMA: { message: 'payload does not match the schema', status: 400 },
  PROTO_ERR_VERSION: { message: 'unsupported protocol version', status: 400 },
  PROTO_ERR_UNKNOWN_TOPIC: { message: 'topic is not part of the protocol', status: 400 },

  // Fleet server
  FLEET_ERR_UNAUTHORIZED: { message: 'missing or invalid credentials', status: 401 },
  FLEET_ERR_FORBIDDEN: { message: 'not allowed for this operator', status: 403 },
  FLEET_ERR_NOT_FOUND: { message: 'no such resource', status: 404 },
  FLEET_ERR_CONFLICT: { message: 'conflicts with the current state', status: 409 },
  FLEET_ERR_BAD_REQUEST: { message: 'bad request', status: 400 },
  FLEET_ERR_TOKEN_INVALID: { message: 'enrolment token is unknown, used up or expired', status: 401 },
  FLEET_ERR_SERIAL_IN_USE: { message: 'the hardware serial belongs to another device or site', status: 409 },
  FLEET_ERR_UNKNOWN_DEVICE: { message: 'no device with that id', status: 404 },
  FLEET_ERR_UNKNOWN_SITE: { message: 'no site with that id', status: 404 },
  FLEET_ERR_RATE_LIMITED: { message: 'too many requests', status: 429 },
  FLEET_ERR_CONFIG: { message: 'invalid configuration', status: 500 },
  FLEET_ERR_INTERNAL: { message: 'internal error', status: 500 },
  FLEET_ERR_RELEASE_INVALID: {
    message: 'release is not signed by a trusted key or does not match its manifest',
    status: 400,
  },
  FLEET_ERR_ROLLOUT_STATE: { message: 'rollout cannot do that in its current state', status: 409 },
  FLEET_ERR_RELEASE_DOWNGRADE: {
    message: 'release is older than one already accepted and is not a signed rollback',
    status: 409,
  },
  FLEET_ERR_SITE_IN_MEETING: { message: 'a meeting is live at the site; force with a reason to override', status: 409 },
  FLEET_ERR_NO_TARGETS: { message: 'no device to send the command to', status: 409 },
  FLEET_ERR_MEETING_SITE_BUSY: { message: 'a site is already in another meeting at that time', status: 409 },
  FLEET_ERR_MEETING_CAPACITY: { message: 'an edge has no capacity left for the meeting at that time', status: 409 },
  FLEET_ERR_MEETING_ENDED: { message: 'the meeting has ended', status: 409 },
  FLEET_ERR_BACKUP: { message: 'the backup cannot be made or restored', status: 500 },
  FLEET_ERR_NOT_LEADER: { message: 'this fleet node no longer leads; the work is left to the leader', status: 503 },

  // Appliance agent
  APPL_ERR_CONFIG: { message: 'invalid configuration', status: 500 },
  APPL_ERR_ENROLL: { message: 'enrolment failed', status: 502 },
  APPL_ERR_NO_BOOTSTRAP: { message: 'no bootstrap (fleet URL and token or serial) found', status: 500 },
  APPL_ERR_QUEUE: { message: 'telemetry queue failure', status: 500 },
  APPL_ERR_COMMAND: { message: 'command failed', status: 500 },
  APPL_ERR_COMMAND_EXPIRED: { message: 'command arrived after its expiry; not run', status: 410 },
  APPL_ERR_COMMAND_INTERRUPTED: { message: 'the agent stopped while running the command; not run again', status: 500 },
  APPL_ERR_COMMAND_PARAMS: { message: 'command parameters are invalid', status: 400 },
  APPL_ERR_HARDWARE: { message: 'hardware access failed', status: 500 },
  APPL_ERR_MEDIA: { message: 'media edge failure', status: 500 },
  APPL_ERR_OTA: { message: 'update failed', status: 500 },
  APPL_ERR_MEDIA_UNAUTHORIZED: { message: 'missing or invalid media token', status: 401 },
  APPL_ERR_MEDIA_NOT_FOUND: { message: 'no such meeting, link, stream or route on this media edge', status: 404 },
  APPL_ERR_MEDIA_CONFLICT: { message: 'media request conflicts with the state of the edge', status: 409 },
  APPL_ERR_MEDIA_FORBIDDEN: { message: 'not allowed by the media plan or the edge settings', status: 403 },
  APPL_ERR_MEDIA_LIMIT: { message: 'a limit of this media edge is reached', status: 429 },
  APPL_ERR_OTA_SIGNATURE: { message: 'release manifest signature is not trusted', status: 400 },
  APPL_ERR_OTA_HASH: { message: 'artifact does not match its manifest', status: 400 },
  APPL_ERR_OTA_DISK: { message: 'not enough free disk for the update', status: 507 },
  APPL_ERR_OTA_DOWNLOAD: { message: 'artifact download failed', status: 502 },
  APPL_ERR_OTA_INSTALL: { message: 'installing the release failed', status: 500 },
  APPL_ERR_OTA_HEALTH: { message: 'new version failed its health gate', status: 500 },
  APPL_ERR_OTA_INCOMPATIBLE: { message: 'release needs a newer agent', status: 409 },
  APPL_ERR_OTA_DOWNGRADE: {
    message: 'release is older than the running version and is not a signed rollback from it',
    status: 409,
  },
  APPL_ERR_OTA_REQUIREMENTS: {
    message: 'the box lacks what the release needs (Debian packages, architecture or Node ABI)',
    status: 409,
  },
  APPL_ERR_OS_APT: { message: 'apt could not apply the operating system snapshot', status: 500 },
  APPL_ERR_OS_HEALTH: { message: 'the box failed its health check after the operating system update', status: 500 },
  APPL_ERR_MOVE_REFUSED: {
    message:
      "a move to another fleet was refused: not signed by this box's fleet, expired, for another box or replayed",
    status: 403,
  },
  APPL_ERR_BOOTSTRAP_PIN: {
    message: 'bootstrap names a fleet or CA other than the one pinned in the image',
    status: 403,
  },

  // Provisioning tools (the operator's CLI, the release builder)
  PROV_ERR_CONFIG: { message: 'invalid configuration', status: 500 },
} as const satisfies Record<string, { message: string; status: number }>;

export type ErrorCode = keyof typeof ERRORS;

export class DiemcauError extends Error {
  readonly code: ErrorCode;
  readonly statusCode: number;
  readonly details?: unknown;

  constructor(code: ErrorCode, detail?: string, opts: { cause?: unknown; details?: unknown } = {}) {
    const base = ERRORS[code];
    super(detail ? `${base.message}: ${detail}` : base.message, { cause: opts.cause });
    this.name = 'DiemcauError';
    this.code = code;
    this.statusCode = base.status;
    this.details = opts.details;
  }

  toJSON(): { code: ErrorCode; message: string; details?: unknown } {
    return { code: this.code, message: this.message, ...(this.details === undefined ? {} : { details: this.details }) };
  }
}

export const isDiemcauError = (err: unknown): err is DiemcauError => err instanceof DiemcauError;
