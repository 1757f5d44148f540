// Would a rollout leave a scheduled meeting with edges that cannot link? An
// edge on a release whose pipes speak AEAD_AES_256_GCM (mediasoup 3.10+) and
// one whose pipes speak AES_CM_128_HMAC_SHA1_80 (3.8) share no SRTP suite:
// their cascade link fails. Pure: given the release, the rollout's devices
// by ring, what each box runs now and the meetings ahead, which meetings
// would be mixed after which ring. The rollout is still created; the
// operator gets the warnings (order the rings by meeting, or wait).
import { mediaLinksCompatible, type ReleaseManifest } from '@diemcau/shared';

export interface CompatDevice {
  siteId: string;
  ring: number;
  /** Version the box runs now (null: not known). */
  current: string | null;
  /** Its rollout state: 'skipped' boxes stay where they are. */
  state: string;
}

export interface CompatMeeting {
  id: string;
  title: string;
  siteIds: readonly string[];
}

export function mixedMeetingWarnings(input: {
  release: Pick<ReleaseManifest, 'version' | 'mediaLink'>;
  ringNames: readonly string[];
  devices: readonly CompatDevice[];
  /** Manifests of the versions boxes run now, by version (unknown versions count as legacy). */
  manifests: ReadonlyMap<string, Pick<ReleaseManifest, 'mediaLink'>>;
  /** Every box of the fleet by site, with its version: sites outside the rollout stay as they are. */
  sitesCurrent: ReadonlyMap<string, string | null>;
  meetings: readonly CompatMeeting[];
}): string[] {
  const { release } = input;
  const bySite = new Map(input.devices.map((d) => [d.siteId, d]));
  const incompatibleNow = (siteId: string): boolean => {
    const v = bySite.get(siteId)?.current ?? input.sitesCurrent.get(siteId) ?? null;
    if (v === null) return false; // no box, or a box that never said: nothing to warn about
    if (v === release.version) return false;
    return !mediaLinksCompatible(input.manifests.get(v) ?? {}, release);
  };
  // A site moves to the release when its ring runs; skipped boxes and sites outside the rollout never do.
  const ringOf = (siteId: string): number | null => {
    const d = bySite.get(siteId);
    return d && d.state !== 'skipped' ? d.ring : null;
  };
  const warnings: string[] = [];
  const lastRing = input.ringNames.length - 1;
  for (const m of input.meetings) {
    const old = m.siteIds.filter(incompatibleNow);
    if (old.length === 0) continue; // every edge already speaks a suite the release speaks
    for (let k = 0; k <= lastRing; k++) {
      const moved = old.filter((s) => {
        const r = ringOf(s);
        return r !== null && r <= k;
      });
      const staying = old.filter((s) => !moved.includes(s));
      if (moved.length > 0 && staying.length > 0) {
        warnings.push(
          `meeting "${m.title}" (${m.id}): after ring ${input.ringNames[k] ?? k}, ${moved.length} of its sites run ${release.version} and ${staying.length} ` +
            `still run a release whose media links it cannot join (${staying.slice(0, 3).join(', ')}${staying.length > 3 ? ', …' : ''})`,
        );
        break;
      }
    }
  }
  return warnings;
}
