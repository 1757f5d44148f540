import type { EventEmitter } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import type { Duplex } from 'node:stream';
import { indexedMemoryPersistence } from './retained-index.js';
import { redisBackend, type RedisBackend } from './redis-backend.js';
import { Aedes, type AuthenticateError, type Client, type PublishPacket } from 'aedes';
import type { Logger } from 'pino';
import { canDeviceSubscribe } from '@diemcau/shared';
import { Counter, Gauge } from 'prom-client';
import type { DevicesRepo } from '../db/devices-repo.js';
import { hashPassword, isHashForm, verifyPassword, type PasswordHashForm } from '../db/secrets.js';
import type { FleetMetrics } from '../metrics.js';
import { PacketSizeGuard, OversizePacketError, QoS2PublishError } from './packet-guard.js';
import { AddressSlots, connectRefusal, publishRefusal } from './limits.js';
import { LoginThrottle } from './login-throttle.js';
import { addAcceptCopies } from './accept-copies.js';
import { FailureLimiter } from '../api/failure-limiter.js';
import type { TlsFiles } from '../tls.js';

export interface BrokerOptions {
  host: string;
  port: number;
  maxPacketBytes: number;
  devices: DevicesRepo;
  metrics: FleetMetrics;
  log: Logger;
  /** Serve MQTT over TLS only (no plain listener). */
  tls?: TlsFiles | undefined;
  /** Refused logins per (address, device id) per minute before they are no longer logged one by one; 0 = log all. */
  maxFailuresPerMin?: number;
  /** Different device ids failing from one address per minute before the address is cut at accept; 0 = never. */
  maxFailedIdsPerAddress?: number;
  /** Open connections per remote address; 0 = no cap. */
  maxConnectionsPerAddress?: number;
  /** A connection silent for this long before its CONNECT (or TLS handshake) is closed. */
  connectTimeoutMs?: number;
  /** Largest retained payload a device may leave. */
  maxRetainedBytes?: number;
  /** Logins per device per minute; past it the device's logins are refused until the minute is over. 0 = no limit. */
  maxLoginsPerDevicePerMin?: number;
  /** Logins under way (CONNECT read, not yet answered) at which new ones are refused with 'server unavailable'; 0 = no cap. */
  maxPendingLogins?: number;
  /** Refused logins per second from one address past which its new connections wait SLOW_MS before being served; 0 = never. */
  slowAfterRefusalsPerSec?: number;
  /** The form a device's password hash is stored in after its login (db/secrets.ts); sha256 unless set. */
  passwordHash?: PasswordHashForm;
  /** This node's name in the fleet (unique per process start); sessions are named after it. */
  nodeId?: string;
  /** Join the other fleet nodes through this Redis (redis-backend.ts); unset: the embedded in-memory broker. */
  redisUrl?: string | undefined;
}

/** A device's MQTT session on this node began (CONNACK sent, still open) or ended (its connection closed). */
export type SessionEvent =
  | { kind: 'start'; deviceId: string; sessionId: string; nodeId: string }
  | { kind: 'end'; deviceId: string; sessionId: string; nodeId: string; keepaliveExpired: boolean };

/** Defaults for a broker built without the fleet's settings (the settings schema has the same). */
const DEFAULT_LIMITS = {
  maxFailedIdsPerAddress: 100,
  maxConnectionsPerAddress: 1024,
  connectTimeoutMs: 10_000,
  maxRetainedBytes: 8192,
  maxLoginsPerDevicePerMin: 60,
  maxPendingLogins: 300,
  slowAfterRefusalsPerSec: 20,
} as const;

/**
 * How long a new connection from an address that is refusing fast waits
 * before aedes sees it. Nobody is refused for it: a good box behind that
 * address logs in a second later; a loop of refused logins runs at most one
 * round per second per connection it holds (and the address holds at most
 * its cap), instead of as fast as the fleet can answer.
 */
const SLOW_MS = 1000;

/**
 * Extra handles on the MQTT listening socket: a turn of the event loop
 * accepts up to this many connections more (accept-copies.ts).
 */
const ACCEPT_COPIES = 15;

/** Connections the kernel queues for accept (capped by net.core.somaxconn). */
const LISTEN_BACKLOG = 8192;
/** How long a closing cluster broker waits for Redis before dropping its connections. */
const REDIS_WAIT_MS = 10_000;

/** What the broker knows about one authenticated device connection. */
export interface DeviceConnection {
  deviceId: string;
  /** Grows per connection, so a late event from a replaced connection can be told apart. */
  connId: number;
}

const SERVER_UNAVAILABLE = 3; // CONNACK return codes
const BAD_CREDENTIALS = 4;
const NOT_AUTHORIZED = 5;

function authError(code: number, message: string): AuthenticateError {
  return Object.assign(new Error(message), { returnCode: code }) as AuthenticateError;
}

/**
 * The embedded aedes broker on its own TCP server. Every client is a device
 * with its own credentials (user name = device id = client id); the fleet's
 * own messages go through aedes.publish() directly and never log in.
 */
export class FleetBroker {
  readonly aedes: Aedes;
  private server: Server | undefined;
  /** More handles on the listening socket (accept-copies.ts). */
  private acceptCopies: Server[] = [];
  private copying: Promise<void> | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly connections = new WeakMap<Client, DeviceConnection>();
  /**
   * The live client of each device. aedes' own map can lose a client: when a
   * box reconnects while its previous connection is still closing, the late
   * close unregisters the new client's entry (same id). Revocation must still
   * find it.
   */
  private readonly live = new Map<string, Client>();
  /** The session each live client is known by (renewSessions() gives it a new one). */
  private readonly sessionIds = new WeakMap<Client, string>();
  private renewals = 0;
  private nextConnId = 1;
  /**
   * Logins under way: CONNECT read, CONNACK not yet sent. In a storm (a
   * node's boxes all moving here, a whole fleet restarting) a node falls
   * behind; a box that waits past its own timeout gives up and comes again,
   * and the work done for it is lost, so the node falls further behind. At
   * the cap new logins are refused at once as 'server unavailable': the box
   * retries after its jittered backoff, and the node finishes the ones it has.
   * A connection that has not sent its CONNECT yet owes the node no work,
   * and a refused login is answered: neither counts. (Counting them made a
   * storm refuse itself: a refused connection stayed counted until its close,
   * and a box slow to send its CONNECT was counted as the node's backlog.)
   */
  private readonly pending = new WeakSet<object>();
  private pendingCount = 0;
  private readonly maxPendingLogins: number;
  /** Remote address per connection stream (aedes sees the stream, not the socket). */
  private readonly remotes = new WeakMap<object, string>();
  private readonly throttle: LoginThrottle;
  private readonly slots: AddressSlots;
  /** Connections closed or refused because a per-peer limit was reached, by limit. */
  private readonly limitsHit: Counter<'limit'>;
  private readonly maxRetainedBytes: number;
  /**
   * Logins per device: each one is presence written to the registry, alert
   * rules run, events sent; a box reconnecting in a loop with its own
   * credentials would make the fleet do that hundreds of times a second.
   * The agent's backoff waits at least half a second between attempts.
   */
  private readonly logins: FailureLimiter;
  /** Devices whose login-rate refusal was logged in this window (one line per device and minute). */
  private readonly loginRateLogged = new FailureLimiter(1, 60_000);
  /** Refused logins per address in the last second: past the setting, the address's new connections are slowed. */
  private readonly refusals: FailureLimiter;
  /** One log line per address and minute for connections over the cap or slowed. */
  private readonly addressLogged = new FailureLimiter(1, 60_000);
  private closing: Promise<void> | undefined;
  /** In a cluster: the relay and the persistence, closed after aedes (aedes does not close its persistence). */
  private redis: RedisBackend | undefined;
  private relay: { publish(topic: string, payload: unknown): void } | undefined;
  private readonly sessionListeners = new Set<(e: SessionEvent) => void>();
  /** Clients whose keepalive expired: their session's end says so. */
  private readonly expired = new WeakSet<Client>();
  private ackHold:
    | { matches: (topic: string) => boolean; store: (deviceId: string, p: PublishPacket, release: () => void) => void }
    | undefined;
  /** Publishes stored before their PUBACK. */
  private readonly stored = new WeakSet<PublishPacket>();
  readonly nodeId: string;
  port = 0;

  private constructor(
    aedes: Aedes,
    private readonly opts: BrokerOptions,
  ) {
    this.aedes = aedes;
    this.nodeId = opts.nodeId ?? 'local';
    this.throttle = new LoginThrottle({
      maxFailuresPerPair: opts.maxFailuresPerMin ?? 0,
      maxFailedIdsPerAddress: opts.maxFailedIdsPerAddress ?? DEFAULT_LIMITS.maxFailedIdsPerAddress,
      windowMs: 60_000,
    });
    this.slots = new AddressSlots(opts.maxConnectionsPerAddress ?? DEFAULT_LIMITS.maxConnectionsPerAddress);
    this.maxRetainedBytes = opts.maxRetainedBytes ?? DEFAULT_LIMITS.maxRetainedBytes;
    this.maxPendingLogins = opts.maxPendingLogins ?? DEFAULT_LIMITS.maxPendingLogins;
    this.refusals = new FailureLimiter(opts.slowAfterRefusalsPerSec ?? DEFAULT_LIMITS.slowAfterRefusalsPerSec, 1000);
    // Keyed by device: sized for the largest fleets so that no device is forgotten mid-minute.
    this.logins = new FailureLimiter(
      opts.maxLoginsPerDevicePerMin ?? DEFAULT_LIMITS.maxLoginsPerDevicePerMin,
      60_000,
      100_000,
    );
    this.limitsHit = new Counter({
      name: 'diemcau_mqtt_limits_total',
      help: 'MQTT connections closed or refused for reaching a per-peer limit, by limit',
      labelNames: ['limit'],
      registers: [opts.metrics.registry],
    });
    const pending = (): number => this.pendingCount;
    new Gauge({
      name: 'diemcau_mqtt_logins_pending',
      help: 'MQTT logins read and waiting for the registry (refused as busy at DIEMCAU_MQTT_MAX_PENDING_LOGINS)',
      registers: [opts.metrics.registry],
      collect() {
        this.set(pending());
      },
    });
  }

  /** Built and listening at once: for a broker with nothing else to wire first. */
  static async start(opts: BrokerOptions): Promise<FleetBroker> {
    const broker = await FleetBroker.create(opts);
    await broker.listen();
    return broker;
  }

  /**
   * Built, not yet listening: the fleet wires presence and every channel's
   * handler first and calls listen() last. A box accepted earlier (a reconnect
   * storm meets a node the moment it starts) had its session start and first
   * messages go to no listener: connected, never counted online.
   */
  static async create(opts: BrokerOptions): Promise<FleetBroker> {
    const shared = opts.redisUrl
      ? redisBackend(opts.redisUrl, { log: opts.log.child({ part: 'broker-redis' }), registry: opts.metrics.registry })
      : undefined;
    const aedes = await Aedes.createBroker({
      ...(shared ? { mq: shared.mq, id: opts.nodeId } : {}),
      keepaliveLimit: 600,
      maxClientsIdLength: 64,
      concurrency: 1000,
      persistence: shared?.persistence ?? indexedMemoryPersistence(),
      connectTimeout: opts.connectTimeoutMs ?? DEFAULT_LIMITS.connectTimeoutMs,
      // Devices are refused QoS 2 (limits.ts) before aedes stores anything;
      // this is aedes' own bound behind that, in case a path ever lets one by.
      maxInflightInbound: 16,
      // Packets a client may send before its CONNACK; the agent sends none.
      queueLimit: 16,
    });
    const broker = new FleetBroker(aedes, opts);
    broker.redis = shared;
    broker.installHooks();
    return broker;
  }

  /** The device behind a client, if it authenticated. */
  connectionOf(client: Client | null): DeviceConnection | undefined {
    return client ? this.connections.get(client) : undefined;
  }

  /** Publishes as the fleet (no ACL): commands, desired state, media plans. */
  publish(topic: string, payload: string | Buffer, opts: { qos?: 0 | 1; retain?: boolean } = {}): Promise<void> {
    const packet = {
      cmd: 'publish',
      topic,
      payload: typeof payload === 'string' ? Buffer.from(payload) : payload,
      qos: opts.qos ?? 1,
      retain: opts.retain ?? false,
      dup: false,
    } as PublishPacket;
    return new Promise((resolve, reject) => this.aedes.publish(packet, (err) => (err ? reject(err) : resolve())));
  }

  /**
   * Takes in a device's QoS 1 publish on matching topics before it is
   * acknowledged: `store(deviceId, packet, release)` keeps it and calls
   * `release` once it is durable, and only then does aedes send the PUBACK.
   * aedes acknowledges a QoS 1 publish before its `published` hook and the
   * 'publish' handlers run, so holding the ack there held nothing: a node
   * killed within a write interval lost samples it had already acknowledged.
   * Such packets reach the 'publish' handlers too, flagged (`wasStored`).
   */
  holdAcks(
    matches: (topic: string) => boolean,
    store: (deviceId: string, packet: PublishPacket, release: () => void) => void,
  ): void {
    this.ackHold = { matches, store };
  }

  /** Whether a publish was stored before its PUBACK (holdAcks). */
  wasStored(packet: PublishPacket): boolean {
    return this.stored.has(packet);
  }

  /** Sessions of devices on this node, as they start and end. A throwing listener is logged. */
  onSession(listener: (e: SessionEvent) => void): () => void {
    this.sessionListeners.add(listener);
    return () => this.sessionListeners.delete(listener);
  }

  /** Devices with a live session on this node: what the broker really holds. */
  get sessionCount(): number {
    return this.live.size;
  }

  private emitSession(e: SessionEvent): void {
    for (const l of [...this.sessionListeners]) {
      try {
        l(e);
      } catch (err) {
        this.opts.log.error({ err, kind: e.kind, deviceId: e.deviceId }, 'session listener failed');
      }
    }
  }

  /**
   * In a cluster the device may be connected to another node: a disconnect
   * asked here is also sent to the others (cluster/bus.ts), and theirs come here.
   */
  relayDisconnects(bus: {
    publish(topic: string, payload: unknown): void;
    subscribe(topic: string, h: (payload: unknown) => void): () => void;
  }): void {
    this.relay = bus;
    bus.subscribe('disconnect-device', (id) => {
      if (typeof id === 'string') this.dropLocal(id);
    });
  }

  /**
   * Announces every live session on this node again, each under a new id,
   * and returns how many: for a node the cluster declared dead while it
   * still held them (starved past the node timeout), whose sessions every
   * node has ended. The boxes stay connected; each connection's own close
   * ends its new session.
   */
  renewSessions(): number {
    this.renewals += 1;
    let n = 0;
    for (const [deviceId, client] of this.live) {
      if (client.closed) continue;
      const sessionId = `${this.sessionIds.get(client) ?? this.nodeId}.r${this.renewals}`;
      this.sessionIds.set(client, sessionId);
      this.emitSession({ kind: 'start', deviceId, sessionId, nodeId: this.nodeId });
      n += 1;
    }
    return n;
  }

  /** Drops the device's connection (revocation, re-enrolment), on every node. */
  disconnectDevice(deviceId: string): boolean {
    this.relay?.publish('disconnect-device', deviceId);
    return this.dropLocal(deviceId);
  }

  private dropLocal(deviceId: string): boolean {
    const clients = (this.aedes as unknown as { clients: Record<string, Client | undefined> }).clients;
    const found = [this.live.get(deviceId), clients[deviceId]].filter((c): c is Client => c !== undefined && !c.closed);
    for (const c of new Set(found)) c.close();
    this.live.delete(deviceId);
    return found.length > 0;
  }

  private installHooks(): void {
    const { metrics, log, devices } = this.opts;

    this.aedes.authenticate = (client, username, password, done) => {
      const remote = this.remotes.get(client.conn) ?? 'unknown';
      const failedId = username ?? client.id ?? '';
      const fail = (reason: string, code: number, digest?: string) => {
        // Past the pair's limit a refusal is counted but not logged: a stale box retrying forever, or a flood.
        this.refusals.fail(remote, Date.now());
        const loud = this.throttle.failed(remote, failedId, Date.now(), digest);
        metrics.mqttAuthFailures.inc({ reason });
        if (loud) log.info({ clientId: client.id, remote, reason }, 'MQTT connection refused');
        this.answered(client.conn);
        done(authError(code, reason), false);
      };
      // Credentials are fine, but what the box asks for is not allowed: its own fault, not a login failure.
      const refuse = (reason: string) => {
        this.refusals.fail(remote, Date.now());
        metrics.mqttAuthFailures.inc({ reason });
        log.warn({ deviceId: username, remote, reason }, 'MQTT connection refused');
        this.answered(client.conn);
        done(authError(NOT_AUTHORIZED, reason), false);
      };
      if (!username || !password) return fail('anonymous', NOT_AUTHORIZED);
      if (this.maxPendingLogins > 0 && this.pendingCount >= this.maxPendingLogins) {
        this.limitsHit.inc({ limit: 'pending-logins' });
        metrics.mqttAuthFailures.inc({ reason: 'busy' });
        if (this.logOnce('busy'))
          log.warn(
            { pending: this.pendingCount, limit: this.maxPendingLogins },
            'too many logins at once; new ones refused as server unavailable until the node catches up (logged once a minute)',
          );
        return done(authError(SERVER_UNAVAILABLE, 'busy'), false);
      }
      this.pending.add(client.conn);
      this.pendingCount++;
      // The client id must be the device id: otherwise one box could take
      // over (and so disconnect) another box's session.
      if (client.id !== username) return fail('client-id-mismatch', NOT_AUTHORIZED);
      // The registry may be a network away (PostgreSQL): the rest runs when it answers.
      devices.credentials(username).then(
        (stored) => {
          if (!stored) return fail('unknown-device', BAD_CREDENTIALS);
          const accept = () => {
            const now = Date.now();
            this.throttle.succeeded(remote, now);
            if (this.logins.blocked(username, now)) {
              this.refusals.fail(remote, now);
              this.limitsHit.inc({ limit: 'login-rate' });
              metrics.mqttAuthFailures.inc({ reason: 'login-rate' });
              if (!this.loginRateLogged.blocked(username, now)) {
                this.loginRateLogged.fail(username, now);
                log.warn(
                  { deviceId: username, remote, limit: 'login-rate' },
                  'device logs in too often; refused until the minute is over',
                );
              }
              this.answered(client.conn);
              return done(authError(NOT_AUTHORIZED, 'login-rate'), false);
            }
            this.logins.fail(username, now);
            // client.clean and client._will are set by aedes before it asks us.
            const { clean, _will: will } = client as Client & { _will?: PublishPacket | null };
            const refusal = connectRefusal(username, { clean, will }, { maxRetainedBytes: this.maxRetainedBytes });
            if (refusal) return refuse(refusal);
            this.connections.set(client, { deviceId: username, connId: this.nextConnId++ });
            done(null, true);
          };
          // The same wrong password again (a box left with old credentials): refused without a check.
          const digest = LoginThrottle.digest(stored, password);
          if (this.throttle.isKnownBad(remote, username, digest))
            return fail('repeated-password', BAD_CREDENTIALS, digest);
          const form = this.opts.passwordHash ?? 'sha256';
          metrics.mqttPasswordChecks.inc({ how: isHashForm(stored, 'sha256') ? 'sha256' : 'scrypt' });
          verifyPassword(password.toString('utf8'), stored).then(
            (ok) => {
              if (!ok) return fail('bad-password', BAD_CREDENTIALS, digest);
              if (!isHashForm(stored, form)) this.rehash(username, stored, password, form);
              accept();
            },
            (err: unknown) => {
              log.error({ err, deviceId: username }, 'password verification failed');
              fail('verify-error', BAD_CREDENTIALS);
            },
          );
        },
        (err: unknown) => {
          log.error({ err, deviceId: username }, 'device credentials look-up failed');
          fail('registry-error', BAD_CREDENTIALS);
        },
      );
    };

    // Runs before aedes acknowledges or stores anything of the packet (a
    // QoS 2 message is stored only after this says yes). A refusal closes the connection.
    this.aedes.authorizePublish = (client, packet, done) => {
      const conn = this.connectionOf(client);
      // No client: aedes publishes the will of a session that died with another node (its
      // client is not here). The will was checked against its device's topics when that box
      // connected (connectRefusal, and the client id is the device id), so it is checked
      // again as that device's. A refusal here would end the process: aedes leaves the
      // rejection of a dead node's will unhandled.
      const owner = conn?.deviceId ?? (client ? undefined : willOwner(packet));
      const refusal =
        owner !== undefined ? publishRefusal(owner, packet, { maxRetainedBytes: this.maxRetainedBytes }) : 'acl';
      if (refusal === null) {
        const hold = this.ackHold;
        // aedes writes the PUBACK right after this says yes: what must be durable first is stored here.
        if (!conn || !hold || packet.qos !== 1 || !hold.matches(packet.topic)) return done(null);
        this.stored.add(packet);
        let released = false;
        return hold.store(conn.deviceId, packet, () => {
          // After close the connection is gone (no PUBACK to send) and so is the shared persistence.
          if (released || this.closing) return;
          released = true;
          done(null);
        });
      }
      const ctx = {
        deviceId: owner,
        topic: packet.topic,
        qos: packet.qos,
        retain: packet.retain,
        bytes: packet.payload.length,
      };
      if (refusal === 'acl') {
        metrics.mqttDenied.inc({ kind: 'publish' });
        log.warn(ctx, 'publish outside own topics refused');
      } else if (refusal === 'payload-bytes') {
        metrics.mqttRejected.inc({ reason: 'PROTO_ERR_TOO_LARGE', channel: packet.topic.split('/')[4] ?? 'unknown' });
        log.warn(ctx, 'publish over the payload limit refused');
      } else {
        this.limitsHit.inc({ limit: refusal });
        log.warn({ ...ctx, limit: refusal }, 'publish over a per-device limit refused; connection closed');
      }
      done(new Error(`publish refused: ${refusal}`));
    };

    this.aedes.authorizeSubscribe = (client, sub, done) => {
      const conn = this.connectionOf(client);
      if (!conn || !canDeviceSubscribe(conn.deviceId, sub.topic)) {
        metrics.mqttDenied.inc({ kind: 'subscribe' });
        log.warn({ deviceId: conn?.deviceId, topic: sub.topic }, 'subscription outside own topics refused');
        return done(null, null); // negative SUBACK, the connection stays
      }
      // A QoS 2 subscription is harmless: the fleet publishes at QoS 0/1 and delivery takes the lower.
      done(null, sub);
    };

    // A session lasts from CONNACK to the close of its own connection stream.
    // aedes' clientDisconnect is not used for the end: it is not emitted for a
    // client whose map entry a late close of its predecessor removed (same
    // client id), which left devices counted online for good.
    this.aedes.on('clientReady', (client) => {
      this.answered(client.conn);
      const conn = this.connections.get(client);
      const stream = client.conn as Duplex;
      if (!conn || client.closed || stream.destroyed) return;
      this.live.set(conn.deviceId, client);
      const sessionId = `${this.nodeId}:${conn.connId}`;
      this.sessionIds.set(client, sessionId);
      const { deviceId } = conn;
      stream.once('close', () => {
        if (this.live.get(deviceId) === client) this.live.delete(deviceId);
        this.emitSession({
          kind: 'end',
          deviceId,
          sessionId: this.sessionIds.get(client) ?? sessionId,
          nodeId: this.nodeId,
          keepaliveExpired: this.expired.has(client),
        });
      });
      this.emitSession({ kind: 'start', deviceId, sessionId, nodeId: this.nodeId });
    });
    this.aedes.on('keepaliveTimeout', (client) => this.expired.add(client));
    // aedes' own failures (in a cluster: clearing the wills of dead nodes in
    // Redis); with no listener an 'error' event would end the process.
    // (aedes' typings omit the event it inherits from EventEmitter.)
    (this.aedes as unknown as EventEmitter).on('error', (err: Error) =>
      log.error({ err: err.message }, 'broker error'),
    );
    this.aedes.on('clientError', (client, err) =>
      log.debug({ clientId: client.id, err: err.message }, 'MQTT client error'),
    );
    this.aedes.on('connectionError', (client, err) => {
      if (err.message === 'connect did not arrive in time') {
        this.limitsHit.inc({ limit: 'connect-timeout' });
        log.info({ remote: this.remotes.get(client.conn) }, 'MQTT connection sent no CONNECT in time; closed');
        return;
      }
      log.debug({ clientId: client.id, err: err.message }, 'MQTT connection error');
    });
  }

  /** Accepts connections on the configured port (0: a free one, then in `port`). */
  async listen(): Promise<void> {
    const { host, port, maxPacketBytes, metrics, log } = this.opts;
    // Every TCP connection, before TLS or MQTT spend anything on it: a scan of
    // device ids from one address is cut here, and each address holds at most
    // its share of connections (with TLS, the raw socket is counted while its
    // handshake is still pending).
    const admit = (raw: Socket): boolean => {
      const remote = raw.remoteAddress ?? 'unknown';
      if (this.throttle.addressCut(remote, Date.now())) {
        metrics.mqttAuthFailures.inc({ reason: 'throttled' });
        raw.destroy();
        return false;
      }
      if (!this.slots.take(remote)) {
        this.limitsHit.inc({ limit: 'connections-per-address' });
        if (this.logOnce(`cap ${remote}`))
          log.warn(
            { remote, open: this.slots.count(remote) },
            'MQTT connections per address at the cap; new ones closed (logged once a minute)',
          );
        raw.destroy();
        return false;
      }
      raw.once('close', () => this.slots.release(remote));
      return true;
    };
    // An address refusing fast (a loop of bad or over-limit logins) gets its
    // new connections served a second late; see SLOW_MS.
    const onSocket = (socket: Socket) => {
      const remote = socket.remoteAddress ?? 'unknown';
      if (socket.destroyed) return;
      if (!this.refusals.blocked(remote, Date.now())) return serve(socket);
      this.limitsHit.inc({ limit: 'slowed' });
      if (this.logOnce(`slow ${remote}`))
        log.warn(
          { remote },
          'MQTT logins refused fast from this address; its new connections wait a second (logged once a minute)',
        );
      socket.pause();
      this.sockets.add(socket);
      const timer = setTimeout(() => {
        this.sockets.delete(socket);
        if (!socket.destroyed) serve(socket);
      }, SLOW_MS);
      socket.once('close', () => {
        clearTimeout(timer);
        this.sockets.delete(socket);
      });
    };
    const serve = (socket: Socket) => {
      const remote = socket.remoteAddress ?? 'unknown';
      this.sockets.add(socket);
      metrics.mqttClients.inc();
      socket.setNoDelay(true);
      const guard = new PacketSizeGuard(maxPacketBytes);
      const drop = (err: Error) => {
        if (err instanceof OversizePacketError) {
          metrics.mqttOversize.inc();
          log.warn(
            { remote: socket.remoteAddress, announced: err.announced },
            'MQTT packet over the size limit; connection closed',
          );
        } else if (err instanceof QoS2PublishError) {
          this.limitsHit.inc({ limit: 'qos2' });
          const deviceId = this.connectionOf((socket as Socket & { client?: Client }).client ?? null)?.deviceId;
          log.warn(
            { remote: socket.remoteAddress, deviceId, limit: 'qos2' },
            'QoS 2 publish refused before its body was read; connection closed',
          );
        }
        socket.destroy();
      };
      socket.on('error', () => socket.destroy());
      socket.on('close', () => {
        this.answered(socket);
        this.sockets.delete(socket);
        metrics.mqttClients.dec();
      });
      this.remotes.set(socket, remote);
      this.aedes.handle(socket);
      // aedes reads the socket with read(), which hands each chunk to 'data'
      // listeners before aedes parses it: the guard sees every byte first and
      // cuts the socket on the chunk that announces a packet over the limit.
      // (Added after handle(): with aedes' 'readable' listener in place, this
      // does not switch the socket to flowing mode.)
      socket.on('data', (chunk: Buffer) => {
        const err = guard.scan(chunk);
        if (err) drop(err);
      });
    };
    const { tls } = this.opts;
    if (tls) {
      const server = createTlsServer(
        {
          ...tls,
          minVersion: 'TLSv1.2',
          handshakeTimeout: this.opts.connectTimeoutMs ?? DEFAULT_LIMITS.connectTimeoutMs,
        },
        onSocket,
      );
      server.on('connection', admit);
      // Plain MQTT, a wrong CA or a port scan on the TLS port: refused and counted, never logged in.
      server.on('tlsClientError', (err, socket) => {
        metrics.mqttAuthFailures.inc({ reason: 'tls-handshake' });
        log.info({ remote: socket.remoteAddress, err: err.message }, 'MQTT TLS handshake failed');
        socket.destroy();
      });
      this.server = server;
    } else {
      this.server = createServer((socket) => {
        if (admit(socket)) onSocket(socket);
      });
    }
    const server = this.server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      // A deep backlog: after a fleet restart every box reconnects at once,
      // and past a full queue the kernel drops their SYNs (sent again 1, 3,
      // 7 s later). The kernel caps it at net.core.somaxconn.
      server.listen({ port, host, backlog: LISTEN_BACKLOG }, () => {
        const addr = server.address();
        this.port = typeof addr === 'object' && addr ? addr.port : port;
        resolve();
      });
    });
    // Past the listen, an error is an accept() that failed (out of descriptors, at
    // worst): the connection is lost, the broker goes on.
    server.removeAllListeners('error');
    server.on('error', (err: NodeJS.ErrnoException) => {
      this.limitsHit.inc({ limit: 'accept-error' });
      if (this.logOnce('accept-error'))
        log.error({ err: { message: err.message, code: err.code } }, 'MQTT accept failed (logged once a minute)');
    });
    // Not awaited: the listener serves alone for the few milliseconds the copies take.
    this.copying = addAcceptCopies(server, ACCEPT_COPIES, { backlog: LISTEN_BACKLOG }).then(
      (copies) => {
        if (this.closing) for (const c of copies) c.close();
        else this.acceptCopies = copies;
      },
      (err: unknown) =>
        this.opts.log.warn(
          { err: { message: (err as Error).message } },
          'MQTT listener not copied: one connection accepted per turn of the event loop',
        ),
    );
  }

  /** A login got its CONNACK, or its connection closed before: no longer pending. */
  private answered(conn: object): void {
    if (this.pending.delete(conn)) this.pendingCount--;
  }

  /** Stores a password hash of another form in the configured one, once its login verified. */
  private rehash(deviceId: string, verified: string, password: Buffer, form: PasswordHashForm): void {
    hashPassword(password.toString('utf8'), form)
      .then((hash) => this.opts.devices.replacePasswordHash(deviceId, verified, hash))
      .then(
        (replaced) => {
          if (replaced) this.opts.metrics.mqttPasswordHashesReplaced.inc({ form });
        },
        // Harmless: the old hash still verifies, and the next login tries again.
        (err: unknown) =>
          this.opts.log.warn({ err, deviceId }, 'could not store the password hash in the configured form'),
      );
  }

  /** True the first time in a minute for this key: for log lines that a flood would repeat. */
  private logOnce(key: string): boolean {
    const now = Date.now();
    if (this.addressLogged.blocked(key, now)) return false;
    this.addressLogged.fail(key, now);
    return true;
  }

  /**
   * A broker that stops is not a box that failed: no box's will ("offline",
   * retained) is published for it, and each is removed from the persistence
   * now, while it answers. Left to aedes, the will would be published and
   * deleted while its Redis connections are already closing, and the Redis
   * persistence's delete issues a write it never awaits: the rejected write
   * ended the whole process (exit 1 on SIGTERM, a node that never said it
   * left, a false node-down alert).
   */
  private async dropWills(): Promise<void> {
    // Neither is in aedes' typings: its client table and its persistence's will store.
    const { clients, persistence } = this.aedes as unknown as {
      clients: Record<string, Client & { will: unknown; _will: unknown }>;
      persistence: { delWill?(c: { id: string; brokerId: string }): Promise<unknown> };
    };
    const pending: Array<Promise<unknown>> = [];
    for (const c of Object.values(clients)) {
      if (!c.will) continue;
      c.will = null;
      c._will = null;
      pending.push(
        Promise.resolve(persistence.delWill?.({ id: c.id, brokerId: this.aedes.id })).catch(() => undefined),
      );
    }
    await Promise.all(pending);
  }

  /** Stops accepting, drops every connection, closes aedes. Safe to call twice. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.copying;
      const servers = [this.server, ...this.acceptCopies];
      const closed = Promise.all(
        servers.map(
          (server) => new Promise<void>((resolve) => (server?.listening ? server.close(() => resolve()) : resolve())),
        ),
      );
      // In a cluster each step below may wait on Redis: with Redis unreachable,
      // through ioredis' retries, and the relay's QUIT for ever. Past the
      // deadline the close goes on without it.
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), REDIS_WAIT_MS)));
      await Promise.race([this.dropWills(), late]);
      for (const s of this.sockets) s.destroy();
      await closed;
      const stopped = new Promise<'stopped'>((resolve) => this.aedes.close(() => resolve('stopped')));
      const outcome = await Promise.race([stopped, ...(this.redis ? [late] : [])]);
      clearTimeout(timer);
      if (outcome === 'late') {
        this.opts.log.warn(
          { waitedMs: REDIS_WAIT_MS },
          'Redis did not answer the closing broker; its connections dropped',
        );
        this.redis?.cut();
      } else await Promise.resolve(this.redis?.persistence.destroy?.()).catch(() => undefined);
    })();
    return this.closing;
  }
}

/** The device a dead node's will belongs to: aedes hands it over with the client id it was stored under. */
function willOwner(packet: PublishPacket): string | undefined {
  const id = (packet as PublishPacket & { clientId?: unknown }).clientId;
  return typeof id === 'string' ? id : undefined;
}
