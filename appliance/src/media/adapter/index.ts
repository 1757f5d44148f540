// The media engine as the edge sees it. Nothing outside this folder imports mediasoup.
export {
  MediaWorker,
  RoomRouter,
  MEDIASOUP_VERSION,
  MEDIASOUP_WORKER_BIN,
  type WorkerOptions,
  type ListenOptions,
  type WorkerUsage,
  type RouterDump,
  type SpeakerHooks,
} from './engine.js';
export {
  Stream,
  Outlet,
  PipeLink,
  PlainIn,
  PlainOut,
  WebRtcPort,
  type WebRtcParams,
  type WebRtcState,
  type MediaKind,
  type RtpParameters,
  type RtpCapabilities,
  type StreamInfo,
  type Tuple,
  type LinkSrtp,
  type RtpStreamStats,
  type TransportStats,
  type ProduceOptions,
} from './handles.js';
export {
  MediaWorkers,
  MIN_PORTS_PER_WORKER,
  DEFAULT_SPAN_AT,
  type PoolOptions,
  type WorkerDeath,
  type WorkerPlacement,
  type RouterSource,
  type Tenant,
  type TenantMeeting,
} from './pool.js';
export { INGEST, ROUTER_CODECS, ingestRtpParameters, firstCodec, type VideoCodec } from './codecs.js';
