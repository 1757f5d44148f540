import fs from 'node:fs';
import os from 'node:os';
import type { Logger } from 'pino';
import {
  DiemcauError,
  telemetryCodec,
  type DevicePublishChannel,
  type EnrolRequest,
  type Peripherals,
} from '@diemcau/shared';
import { dataPaths, type AgentConfig } from '../config.js';
import { DiskQueue } from '../queue/index.js';
import { SeqStore, TelemetrySampler, type TelemetryCollector } from '../telemetry/index.js';
import { DurablePublisher } from './durable.js';
import { enrol } from './enrol.js';
import { loadIdentity, saveIdentity, type Identity } from './identity.js';
import { ChannelRouter } from './router.js';
import { MqttSession } from './session.js';
import { MoveFollower } from './move.js';
import { BrokerListKeeper } from './broker-list.js';
import { decorateTelemetry } from './decorate.js';

// The agent's spine, wired: identity (enrol once) → on-disk queue → MQTT
// session with presence → durable publisher → telemetry sampler. Other modules
// plug in through `router` (incoming channels) and `publishDurable()`.

export interface AgentDeps {
  config: AgentConfig;
  log: Logger;
  collector: TelemetryCollector;
  agentVersion: string;
  /** Asked on every (re)connect for the birth message; devices/ supplies the real one. */
  peripherals: () => Promise<Peripherals>;
  /** How to reach the fleet when the config names none (bootstrap discovery); only needed before enrolment. */
  bootstrap?: () => Promise<{ fleetUrl: string; token?: string; caCert?: string }>;
  /** The box's hardware serial (DMI), sent at enrolment; lets a pre-registered box enrol with no token. */
  serial?: () => Promise<string | undefined>;
  /** Delay before the first telemetry sample (the simulator spreads agents with it). */
  firstSampleDelayMs?: number;
  osName?: string;
  /** The media edge's signalling address as other edges reach it; sent in the birth (presence.mediaUrl). */
  mediaUrl?: string;
}

export class Agent {
  readonly router: ChannelRouter;
  private closed = false;
  private closing: Promise<void> | undefined;

  /** Follows signed moves to another fleet (move.ts). */
  move: MoveFollower | undefined;

  private constructor(
    /** What enrolment gave this box; replaced when it follows a move to another fleet. */
    public identity: Identity,
    readonly session: MqttSession,
    readonly queue: DiskQueue,
    private readonly publisher: DurablePublisher,
    private readonly sampler: TelemetrySampler,
    router: ChannelRouter,
  ) {
    this.router = router;
  }

  /** Enrols if needed (retrying while the fleet is unreachable), then connects and starts sampling. */
  static async start(deps: AgentDeps, signal?: AbortSignal): Promise<Agent> {
    const { config, log } = deps;
    const paths = dataPaths(config.dataDir);
    await fs.promises.mkdir(config.dataDir, { recursive: true, mode: 0o700 });
    const osName = deps.osName ?? `${os.type()} ${os.release()}`;
    const caFromFile = await readCaFile(config.caFile);
    const identity =
      (await loadIdentity(paths.identity)) ?? (await enrolAndSave(deps, paths.identity, osName, caFromFile, signal));
    const alog = log.child({ deviceId: identity.deviceId });

    const queue = await DiskQueue.open({
      dir: paths.queue,
      maxRecords: config.queueMaxRecords,
      fsync: config.queueFsync,
      onWarning: (msg, details) => alog.warn({ module: 'queue', ...details }, msg),
    });
    const router = new ChannelRouter(identity.deviceId, alog.child({ module: 'router' }));
    // The fleet's later broker lists (a node added), unless an override names one broker on purpose.
    let brokers: BrokerListKeeper | undefined;
    const session: MqttSession = new MqttSession({
      url: config.mqttUrl ?? identity.mqtt.url,
      // An override names one broker on purpose: no failover list then.
      urls: config.mqttUrl ? undefined : identity.mqtt.urls,
      deviceId: identity.deviceId,
      username: identity.mqtt.username,
      password: identity.mqtt.password,
      keepaliveSec: config.keepaliveSec,
      ca: caFromFile ?? identity.caCert,
      ...(config.mqttUrl ? {} : { onBrokers: (payload: Buffer) => void brokers?.offer(payload) }),
      router,
      log: alog.child({ module: 'session' }),
      birth: async () => ({
        agentVersion: deps.agentVersion,
        os: osName.slice(0, 200),
        hardware: config.hardware,
        peripherals: await deps.peripherals(),
        ...(deps.mediaUrl ? { mediaUrl: deps.mediaUrl } : {}),
      }),
    });
    // One writer of the identity file at a time: a broker list and a move both change it.
    let writes: Promise<unknown> = Promise.resolve();
    const writeIdentity = (next: Identity, still: () => boolean = () => true): Promise<void> => {
      const w = writes.then(async () => {
        if (!still()) throw new Error('the box moved to another fleet meanwhile');
        await saveIdentity(paths.identity, next);
        agent.identity = next;
      });
      writes = w.catch(() => undefined);
      return w;
    };
    brokers = new BrokerListKeeper(
      () => agent.identity,
      // A list planned before a move is the old fleet's: it never lands on the new identity.
      (next) => writeIdentity(next, () => agent.identity.mqtt.url === next.mqtt.url),
      (urls) => session.setUrls(urls),
      alog.child({ module: 'brokers' }),
    );
    const publisher = new DurablePublisher(queue, session, alog.child({ module: 'durable' }), decorateTelemetry);
    const sampler = new TelemetrySampler({
      intervalMs: config.telemetryIntervalSec * 1000,
      firstDelayMs: deps.firstSampleDelayMs,
      collector: deps.collector,
      seq: new SeqStore(paths.seq, config.queueFsync, newestSeq(queue)),
      publish: (payload) => publisher.publishDurable('telemetry', payload),
      log: alog.child({ module: 'telemetry' }),
    });
    const agent = new Agent(identity, session, queue, publisher, sampler, router);
    const move = new MoveFollower({
      identity: () => agent.identity,
      save: (next) => writeIdentity(next),
      retarget: (urls, ca) => {
        // An operator's broker override pins this box to one broker on purpose: it stays there.
        if (config.mqttUrl) alog.warn({ urls }, 'moved, but DIEMCAU_MQTT_URL pins the broker; not switching');
        else session.retarget(urls, ca ?? caFromFile);
      },
      report: (payload) => publisher.publishDurable('events', payload),
      log: alog.child({ module: 'move' }),
    });
    agent.move = move;
    router.on('move', (payload) => void move.handle(payload));
    session.start();
    publisher.start();
    sampler.start();
    return agent;
  }

  /** Queues `payload` on disk; it reaches the fleet in order, at least once, whenever the link allows. */
  publishDurable(channel: DevicePublishChannel, payload: string): Promise<void> {
    if (this.closed) return Promise.reject(new DiemcauError('APPL_ERR_QUEUE', 'agent is closed'));
    return this.publisher.publishDurable(channel, payload);
  }

  /** Telemetry every `sec` seconds from now on (the fleet's set-config command). */
  setTelemetryInterval(sec: number): void {
    this.sampler.setIntervalMs(sec * 1000);
  }

  get connected(): boolean {
    return this.session.connected;
  }

  stats(): { queue: ReturnType<DiskQueue['stats']>; sent: number; connects: number; samplerFailures: number } {
    return {
      queue: this.queue.stats(),
      sent: this.publisher.stats().sent,
      connects: this.session.connects,
      samplerFailures: this.sampler.failures,
    };
  }

  /**
   * Idempotent. Graceful (the default) publishes "offline" and disconnects
   * cleanly; otherwise the socket is cut and the broker's will speaks for us.
   */
  close(opts: { graceful: boolean } = { graceful: true }): Promise<void> {
    this.closed = true;
    this.closing ??= (async () => {
      await this.sampler.close();
      // The publisher may be waiting for a PUBACK from a frozen broker; closing
      // the session is what ends that wait, so both are stopped together.
      const publisher = this.publisher.close();
      await this.session.close(opts);
      await publisher;
      await this.queue.close();
    })();
    return this.closing;
  }
}

/** The sequence number of the newest sample in the queue (stored, maybe sent), if it holds one. */
function newestSeq(queue: DiskQueue): number | undefined {
  const rec = queue.newest('telemetry');
  const sample = rec && telemetryCodec.decode(rec.payload);
  return sample?.ok ? sample.value.seq : undefined;
}

/** The operator's CA file (DIEMCAU_CA_FILE), read once; an unreadable one is a config error, not a reason to trust anyone. */
async function readCaFile(file: string | undefined): Promise<string | undefined> {
  if (file === undefined) return undefined;
  try {
    return await fs.promises.readFile(file, 'utf8');
  } catch (err) {
    throw new DiemcauError('APPL_ERR_CONFIG', `cannot read the CA file ${file}`, { cause: err });
  }
}

async function enrolAndSave(
  deps: AgentDeps,
  file: string,
  osName: string,
  caFromFile: string | undefined,
  signal?: AbortSignal,
): Promise<Identity> {
  const { config, log } = deps;
  let fleetUrl = config.fleetUrl;
  let token = config.enrollToken;
  let bootstrapCa: string | undefined;
  if (!fleetUrl) {
    const found = await deps.bootstrap?.();
    if (!found) throw new DiemcauError('APPL_ERR_NO_BOOTSTRAP');
    fleetUrl = found.fleetUrl;
    token ??= found.token;
    bootstrapCa = found.caCert;
  }
  const ca = caFromFile ?? bootstrapCa;
  const serial = config.serial ?? (await deps.serial?.().catch(() => undefined));
  if (!token && !serial)
    throw new DiemcauError('APPL_ERR_NO_BOOTSTRAP', 'neither an enrolment token nor a serial number');
  const request: EnrolRequest = {
    ...(token ? { token } : {}),
    hardware: {
      ...(serial ? { serial: serial.slice(0, 128) } : {}),
      model:
        config.hardware === 'simulated'
          ? 'simulated'
          : `${os.arch()} ${os.cpus()[0]?.model ?? ''}`.trim().slice(0, 200),
      os: osName.slice(0, 200),
      agentVersion: deps.agentVersion,
    },
  };
  const elog = log.child({ module: 'enroll' });
  elog.info({ fleetUrl, with: token ? 'token' : 'serial' }, 'enrolling');
  const res = await enrol({
    fleetUrl,
    request,
    signal,
    ca,
    onRetry: ({ attempt, delayMs, reason }) => elog.warn({ attempt, delayMs, reason }, 'enrolment failed; retrying'),
  });
  const identity: Identity = {
    v: 1,
    ...res,
    fleetUrl,
    enrolledAt: new Date().toISOString(),
    ...(bootstrapCa && !caFromFile ? { caCert: bootstrapCa } : {}),
  };
  await saveIdentity(file, identity);
  elog.info({ deviceId: res.deviceId, siteId: res.siteId }, 'enrolled');
  return identity;
}
