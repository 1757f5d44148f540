// Settings of the readiness check: the `readiness` section of the fleet's tree
// (config.ts). The probe budget and the grading thresholds live here, so the
// README's tables say exactly what the fleet does.
import { Type, type Static } from '@sinclair/typebox';
import { loadSettings, settingsSection } from '@diemcau/shared';

const Int = (env: string, def: number, min: number, max: number, description: string) =>
  Type.Integer({ minimum: min, maximum: max, default: def, env, description });
const Num = (env: string, def: number, min: number, max: number, description: string) =>
  Type.Number({ minimum: min, maximum: max, default: def, env, description });

export const ReadinessConfigSchema = settingsSection(
  {
    leadMin: Int(
      'DIEMCAU_READINESS_LEAD_MIN',
      30,
      0,
      24 * 60,
      'minutes before a scheduled meeting every invited site checks its room and its link (0: no check); media plans go out at least this early',
    ),
    probeRateKbps: Int(
      'DIEMCAU_READINESS_PROBE_KBPS',
      3000,
      16,
      50_000,
      "rate of one site's probe, echoed back by its upstream edge (a room's Full HD picture needs about 2,500 kbit/s)",
    ),
    probeMs: Int('DIEMCAU_READINESS_PROBE_MS', 2000, 200, 10_000, "length of one site's paced probe burst"),
    probePacketBytes: Int('DIEMCAU_READINESS_PROBE_BYTES', 1200, 64, 1400, 'UDP payload of each probe packet'),
    probesPerUpstream: Int(
      'DIEMCAU_READINESS_PROBES_PER_UPSTREAM',
      2,
      1,
      64,
      'probes running at once towards one upstream edge: its link carries at most this many times the probe rate',
    ),
    slotGapMs: Int(
      'DIEMCAU_READINESS_SLOT_GAP_MS',
      3000,
      0,
      60_000,
      "pause between two slots towards the same edge (a late start or a slow clock does not overlap the next slot's probes)",
    ),
    answerTimeoutSec: Int(
      'DIEMCAU_READINESS_ANSWER_TIMEOUT_SEC',
      120,
      10,
      3600,
      'a site whose box has not reported this long after its slot reads red ("no answer")',
    ),
    amberLossPct: Num('DIEMCAU_READINESS_AMBER_LOSS_PCT', 1, 0, 100, 'probe loss from which a site is amber'),
    redLossPct: Num('DIEMCAU_READINESS_RED_LOSS_PCT', 5, 0, 100, 'probe loss from which a site is red'),
    amberRttMs: Int('DIEMCAU_READINESS_AMBER_RTT_MS', 150, 1, 10_000, 'median round trip from which a site is amber'),
    redRttMs: Int('DIEMCAU_READINESS_RED_RTT_MS', 400, 1, 10_000, 'median round trip from which a site is red'),
    amberBandwidthPct: Num(
      'DIEMCAU_READINESS_AMBER_BANDWIDTH_PCT',
      95,
      0,
      100,
      'a site is amber when its path carried less than this share of the probe rate',
    ),
    redBandwidthPct: Num(
      'DIEMCAU_READINESS_RED_BANDWIDTH_PCT',
      80,
      0,
      100,
      'a site is red when its path carried less than this share of the probe rate',
    ),
  },
  'the readiness check before a meeting: probe budget and grading thresholds',
);
export type ReadinessConfig = Static<typeof ReadinessConfigSchema>;

/** The section alone, validated with its defaults (tests); the fleet's tree passes it whole. */
export function readinessConfig(input: Partial<ReadinessConfig> = {}): ReadinessConfig {
  return loadSettings(ReadinessConfigSchema, { values: structuredClone(input) }, 'FLEET_ERR_CONFIG').settings;
}
