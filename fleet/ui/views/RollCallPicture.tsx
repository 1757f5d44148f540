// The called room, live, for the chair during a roll call. The fleet signs a
// short-lived monitor link on the chairing site's edge (POST
// /api/v1/meetings/:id/roll-call/picture, only for an operator who may chair
// the meeting); this frames that edge's join page with it. The page receives
// the called room's picture over WebRTC, as every TV does, and follows the roll
// call by itself: stepping closes the last room's consumer and opens the next
// (the edge closes it too, whatever the page does); leaving the console removes
// the frame, and with it the page's peer. The page reports twice a second what
// it shows; this turns that (or its silence) into words.
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError } from '../api/client.js';
import type { RollCallPicture as PictureLink } from '../api/types.js';
import { useI18n, type MsgKey } from '../i18n/i18n.js';
import { useApp } from '../state/hooks.js';
import { pictureStatus, reportOf, type PictureStatus, type Report } from '../state/picture-status.js';

const WORDS: Record<PictureStatus, MsgKey> = {
  connecting: 'live.connecting',
  playing: 'live.playing',
  switching: 'live.switching',
  'not-sending': 'live.notSending',
  unreachable: 'live.unreachable',
  'no-address': 'live.noAddress',
  forbidden: 'live.forbidden',
  refused: 'live.refused',
  unavailable: 'live.unavailable',
};

export function RollCallPicture(props: { meetingId: string; siteId: string; name: string }) {
  const { t } = useI18n();
  const { api } = useApp();
  const frame = useRef<HTMLIFrameElement>(null);
  const [link, setLink] = useState<{ url: string; origin: string; at: number } | null>(null);
  const [failed, setFailed] = useState<PictureStatus | null>(null);
  // Bumped to ask for a fresh link (the edge said the last one expired).
  const [ask, setAsk] = useState(0);
  const [report, setReport] = useState<Report | null>(null);
  // When the page last spoke, its frame count, when that last moved, and since when it shows this site.
  const seen = useRef({ at: 0, frames: 0, frameAt: 0, site: '' as string | null, siteAt: 0 });
  const [now, setNow] = useState(Date.now());

  // One link for the whole roll call: the page follows the steps itself.
  useEffect(() => {
    let live = true;
    setLink(null);
    setFailed(null);
    setReport(null);
    api
      .post<PictureLink>(`/api/v1/meetings/${encodeURIComponent(props.meetingId)}/roll-call/picture`, {})
      .then((l) => {
        if (!live) return;
        if (l.url === null) return setFailed('no-address');
        setLink({ url: l.url, origin: new URL(l.url).origin, at: Date.now() });
      })
      .catch((err: unknown) => {
        if (live) setFailed(err instanceof ApiError && err.status === 403 ? 'forbidden' : 'unavailable');
      });
    return () => {
      live = false;
    };
  }, [api, props.meetingId, ask]);

  useEffect(() => {
    if (!link) return;
    const onMessage = (ev: MessageEvent) => {
      // Only the frame this console opened, from the edge it was sent to.
      if (ev.origin !== link.origin || ev.source !== frame.current?.contentWindow) return;
      const r = reportOf(ev.data);
      if (!r) return;
      const s = seen.current;
      const at = Date.now();
      // An edge that went away leaves its page running, reporting failed requests: silence, for the rules.
      if (r.status !== 'error') s.at = at;
      if (r.siteId !== s.site) Object.assign(s, { site: r.siteId, siteAt: at, frames: 0, frameAt: 0 });
      if (r.frames > s.frames) s.frameAt = at;
      s.frames = r.frames;
      setReport(r);
      if (r.status === 'refused' && r.reason === 'join-link-expired') setAsk((n) => n + 1);
    };
    addEventListener('message', onMessage);
    const tick = setInterval(() => setNow(Date.now()), 1000);
    return () => {
      removeEventListener('message', onMessage);
      clearInterval(tick);
    };
  }, [link]);

  const status: PictureStatus =
    failed ??
    pictureStatus(props.siteId, report, {
      sinceReport: now - seen.current.at,
      sinceFrame: now - seen.current.frameAt,
      sinceSite: now - seen.current.siteAt,
      sinceOpen: link ? now - link.at : 0,
    });
  return (
    <figure class="room-live" data-testid="room-live-picture" data-status={status}>
      {link && (
        <iframe
          ref={frame}
          class="room-live-picture"
          src={link.url}
          title={t('live.title', { name: props.name })}
          sandbox="allow-scripts allow-same-origin"
          referrerpolicy="no-referrer"
        />
      )}
      <figcaption class="room-live-note muted" aria-live="polite" data-status={status}>
        {t(WORDS[status], { name: props.name })}
      </figcaption>
    </figure>
  );
}
