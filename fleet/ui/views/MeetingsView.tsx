// Meetings: what is on now and what is coming; one meeting's sites with their
// live media figures (bitrate, loss, jitter, round trip) from the edges.
import { useEffect, useState } from 'preact/hooks';
import { ApiError } from '../api/client.js';
import type { Meeting, MeetingDetail } from '../api/types.js';
import { Breadcrumb } from '../components/Breadcrumb.js';
import { ChairConsole } from './ChairConsole.js';
import { JoinLinks } from './JoinLinks.js';
import { ReadinessBoard } from './ReadinessBoard.js';
import { useI18n, type MsgKey } from '../i18n/i18n.js';
import { errorText } from '../i18n/errors.js';
import { meetingLive } from '../state/derive.js';
import { hrefSite, useApp, useNow, useSnapshot } from '../state/hooks.js';
import { useFleetModel } from '../state/model.js';
import { roomLink } from '../state/room-state.js';

export const hrefMeeting = (id: string): string => `#/meetings/${encodeURIComponent(id)}`;

export function MeetingsView() {
  const i18n = useI18n();
  const { t } = i18n;
  const { store } = useApp();
  const snap = useSnapshot();
  const m = useFleetModel();
  const now = useNow();
  useEffect(() => store.reloadMeetings(), [store]);
  const list = [...(snap.meetings ?? [])].sort(
    (a, b) => Number(meetingLive(b, now)) - Number(meetingLive(a, now)) || a.startsAt.localeCompare(b.startsAt),
  );
  return (
    <div class="page">
      <header class="page-head">
        <h1>{t('meet.title')}</h1>
      </header>
      {list.length === 0 ? (
        <p class="empty">{t('meet.none')}</p>
      ) : (
        <table class="table card-table" data-testid="meetings">
          <thead>
            <tr>
              <th>{t('meet.col.state')}</th>
              <th>{t('meet.col.title')}</th>
              <th>{t('meet.col.chair')}</th>
              <th>{t('meet.col.sites')}</th>
              <th>{t('meet.col.when')}</th>
            </tr>
          </thead>
          <tbody>
            {list.map((mt) => {
              const live = meetingLive(mt, now);
              return (
                <tr key={mt.id} data-meeting={mt.id}>
                  <td>
                    <span class={`pill ${live ? 'st-meeting' : 'st-nobox'}`}>
                      <span class="dot" />
                      {live ? t('meet.live') : t('meet.scheduled')}
                    </span>
                  </td>
                  <td>
                    <a href={hrefMeeting(mt.id)}>
                      <strong>{mt.title}</strong>
                    </a>
                  </td>
                  <td>{m.siteById.get(mt.chairSiteId)?.name ?? mt.chairSiteId}</td>
                  <td>{new Set([mt.chairSiteId, ...mt.siteIds]).size}</td>
                  <td>
                    {i18n.time(mt.startsAt)} – {i18n.time(mt.endsAt)}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </div>
  );
}

export function MeetingDetailView(props: { id: string }) {
  const i18n = useI18n();
  const { t } = i18n;
  const { api } = useApp();
  const m = useFleetModel();
  // Media figures change by the second while a meeting is on: the open page
  // refreshes this one meeting every 5 s; nothing else polls.
  const tick = useNow(5_000);
  // A chair's action, or any change another operator made (the event feed reloads the list), fetches at once.
  const [bump, setBump] = useState(0);
  const meetingsNow = useSnapshot().meetings;
  const [detail, setDetail] = useState<MeetingDetail | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    api
      .get<MeetingDetail>(`/api/v1/meetings/${encodeURIComponent(props.id)}`)
      .then((d) => {
        if (live) {
          setDetail(d);
          setError(null);
        }
      })
      .catch((err: unknown) => {
        if (live)
          setError(err instanceof ApiError && err.status === 404 ? t('meet.notFound') : errorText(i18n.lang, err));
      });
    return () => {
      live = false;
    };
  }, [api, props.id, tick, bump, meetingsNow]);
  if (!detail)
    return (
      <div class="page">
        <p class="empty">{error ?? t('common.loading')}</p>
      </div>
    );
  const stats = new Map(detail.stats.map((s) => [s.siteId, s]));
  const sites = [...new Set([detail.chairSiteId, ...detail.siteIds])];
  const fmt = (v: number | null, digits = 0, unit = '') => (v === null ? '—' : `${i18n.num(v, digits)}${unit}`);
  return (
    <div class="page">
      <Breadcrumb items={[{ href: '#/meetings', label: t('meet.title') }, { label: detail.title }]} />
      <header class="page-head">
        <h1>{detail.title}</h1>
        <span class={`pill large ${meetingLive(detail, Date.now()) ? 'st-meeting' : 'st-nobox'}`}>
          <span class="dot" />
          {t(`meet.${detail.state}` as 'meet.live')}
        </span>
        <span class="muted">
          {i18n.time(detail.startsAt)} – {i18n.time(detail.endsAt)}
        </span>
      </header>
      {detail.state === 'live' && <ChairConsole detail={detail} onChanged={() => setBump((n) => n + 1)} />}
      <ReadinessBoard meetingId={detail.id} />
      {/* Links for laptops, phones and tablets, while the meeting is on or to come (none once it has ended). */}
      {detail.state !== 'ended' && <JoinLinks detail={detail} />}
      <details class="card" open>
        <summary>{t('chair.details')}</summary>
        <p class="muted">
          {t('meet.cascade', { links: detail.cascade.links, core: detail.cascade.coreLinks })}
          {detail.cascade.unreachableSiteIds.length > 0 && (
            <strong class="bad-text">
              {' '}
              · {t('meet.unreachable', { n: detail.cascade.unreachableSiteIds.length })}
            </strong>
          )}
        </p>
        <table class="table" data-testid="meeting-stats">
          <thead>
            <tr>
              <th>{t('meet.col.site')}</th>
              <th>{t('meet.col.link')}</th>
              <th>{t('meet.col.bitrate')}</th>
              <th>{t('meet.col.loss')}</th>
              <th>{t('meet.col.jitter')}</th>
              <th>{t('meet.col.rtt')}</th>
            </tr>
          </thead>
          <tbody>
            {sites.map((id) => {
              const s = stats.get(id);
              const st = m.states.get(id) ?? 'nobox';
              const lossy = s?.lossRate !== null && s?.lossRate !== undefined && s.lossRate > 0.02;
              return (
                <tr key={id}>
                  <td>
                    <span class={`dot st-${st}`} /> <a href={hrefSite(id)}>{m.siteById.get(id)?.name ?? id}</a>
                    {id === detail.chairSiteId && <span class="sub">{t('meet.chair')}</span>}
                  </td>
                  <td>{t(`chair.link.${roomLink(s, st)}` as MsgKey)}</td>
                  <td>{s?.bitrateBps == null ? '—' : fmt(s.bitrateBps / 1e6, 2, ' Mbit/s')}</td>
                  <td class={lossy ? 'bad-text' : ''}>{s?.lossRate == null ? '—' : fmt(s.lossRate * 100, 1, ' %')}</td>
                  <td>{fmt(s?.jitterMs ?? null, 0, ' ms')}</td>
                  <td>{fmt(s?.rttMs ?? null, 0, ' ms')}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </details>
    </div>
  );
}

export type { Meeting };
