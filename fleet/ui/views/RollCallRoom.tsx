// The room the roll call has reached, for the chair: its live picture
// (RollCallPicture.tsx), the still its readiness check took as a labelled
// fallback, and its measured quality, both as the check found it and as its
// edge reports it now. Kept apart from the console's controls.
import { useEffect, useRef, useState } from 'preact/hooks';
import type { MeetingSiteStats, RoomSnapshot } from '../api/types.js';
import { useI18n } from '../i18n/i18n.js';
import { useApp } from '../state/hooks.js';
import { LinkFigures, ReadyPill, useReadiness } from './ReadinessBoard.js';
import { RollCallPicture } from './RollCallPicture.js';

/** Draws w×h grey bytes (base64) on a canvas: no image URL, so the page's strict img-src stays as it is. */
function drawGrey(canvas: HTMLCanvasElement, snap: RoomSnapshot): void {
  const bytes = Uint8Array.from(atob(snap.grey), (ch) => ch.charCodeAt(0));
  if (bytes.length !== snap.w * snap.h) return;
  canvas.width = snap.w;
  canvas.height = snap.h;
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  const img = ctx.createImageData(snap.w, snap.h);
  for (let i = 0; i < bytes.length; i++) {
    const v = bytes[i]!;
    img.data[i * 4] = v;
    img.data[i * 4 + 1] = v;
    img.data[i * 4 + 2] = v;
    img.data[i * 4 + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
}

export function RollCallRoom(props: { meetingId: string; siteId: string; name: string; live?: MeetingSiteStats }) {
  const i18n = useI18n();
  const { t } = i18n;
  const { api } = useApp();
  const canvas = useRef<HTMLCanvasElement>(null);
  const [snap, setSnap] = useState<RoomSnapshot | null>(null);
  const { board } = useReadiness(props.meetingId);
  const checked = board?.sites.find((s) => s.siteId === props.siteId);

  useEffect(() => {
    let live = true;
    setSnap(null);
    api
      .get<RoomSnapshot>(
        `/api/v1/meetings/${encodeURIComponent(props.meetingId)}/readiness/${encodeURIComponent(props.siteId)}/snapshot`,
      )
      .then((s) => {
        if (live) setSnap(s);
      })
      .catch(() => {
        /* no picture yet: the frame says so */
      });
    return () => {
      live = false;
    };
  }, [api, props.meetingId, props.siteId, checked?.reportedAt]);
  useEffect(() => {
    if (snap && canvas.current) drawGrey(canvas.current, snap);
  }, [snap]);

  const s = props.live;
  const hasLive = s !== undefined && s.at !== null;
  return (
    <div class="room-now" data-testid="roll-call-room">
      <RollCallPicture meetingId={props.meetingId} siteId={props.siteId} name={props.name} />
      <figure class="room-still" data-testid="room-still">
        {snap ? (
          <canvas
            ref={canvas}
            class="room-picture"
            role="img"
            aria-label={t('room.picture', { name: props.name })}
            data-testid="room-picture"
          />
        ) : null}
        <figcaption class="muted">
          {snap ? t('room.pictureAt', { time: i18n.time(snap.at) }) : t('room.noPicture')}
        </figcaption>
      </figure>
      <dl class="room-quality" data-testid="room-quality">
        <dt>{t('room.checked')}</dt>
        <dd>
          {checked ? (
            <>
              <ReadyPill colour={checked.colour} /> <LinkFigures site={checked} />
              {checked.reasons.map((r) => (
                <div key={r.code} class={r.level === 'red' ? 'bad-text' : ''}>
                  {r[i18n.lang]}
                </div>
              ))}
            </>
          ) : (
            '—'
          )}
        </dd>
        <dt>{t('room.live')}</dt>
        <dd data-testid="room-live">
          {hasLive
            ? t('room.liveLink', {
                loss: s.lossRate === null ? '—' : i18n.num(s.lossRate * 100, 1),
                rtt: s.rttMs === null ? '—' : i18n.num(s.rttMs),
                mbit: s.bitrateBps === null ? '—' : i18n.num(s.bitrateBps / 1e6, 1),
              })
            : t('room.noLive')}
        </dd>
      </dl>
    </div>
  );
}
