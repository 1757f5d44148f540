// The signed-in frame: top bar with navigation, live state, alert badge,
// language and sign-out; below it the page the hash route names.
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { LangSwitch } from '../components/LangSwitch.js';
import { Logo } from '../components/Logo.js';
import { errorText } from '../i18n/errors.js';
import { useI18n } from '../i18n/i18n.js';
import { meetingLive, openAlertCount } from '../state/derive.js';
import { useApp, useNow, useRoute, useSnapshot } from '../state/hooks.js';
import { AlertsView } from './AlertsView.js';
import { DeviceView } from './DeviceView.js';
import { MeetingDetailView, MeetingsView } from './MeetingsView.js';
import { RolloutsView } from './RolloutsView.js';
import { Overview } from './Overview.js';
import { SiteView } from './SiteView.js';
import { WallView } from './WallView.js';
import { Chime } from '../state/chime.js';

const SOUND_KEY = 'diemcau.sound';

export function Shell() {
  const { t, tx, lang } = useI18n();
  const { store, signOut } = useApp();
  const snap = useSnapshot();
  const route = useRoute();
  const open = useMemo(() => openAlertCount(snap.alerts), [snap.alerts]);
  const now = useNow(30_000);
  const runningRollouts = (snap.rollouts ?? []).filter((r) => r.state === 'running').length;
  const liveMeetings = (snap.meetings ?? []).filter((m) => meetingLive(m, now)).length;
  const [sound, setSound] = useState(() => {
    try {
      return localStorage.getItem(SOUND_KEY) === 'on';
    } catch {
      return false;
    }
  });
  const chime = useMemo(() => new Chime(), []);
  useEffect(() => () => chime.close(), [chime]);
  // The wall always sounds: that is what it is for (it shows a banner while the browser blocks it).
  useBeepOnNew(snap.unseenAlerts, sound || route.name === 'wall', chime);

  useEffect(() => {
    store.setViewingAlerts(route.name === 'alerts');
  }, [route.name, store]);

  const saveSound = (next: boolean) => {
    setSound(next);
    try {
      localStorage.setItem(SOUND_KEY, next ? 'on' : 'off');
    } catch {
      /* not kept */
    }
  };
  // Turning sound on is a click: the one moment the browser lets the page unlock its audio.
  const toggleSound = () => {
    if (!sound) void chime.unlock();
    saveSound(!sound);
  };
  const op = snap.operator;

  return (
    <div class="shell">
      <a class="skip" href="#main">
        {t('nav.skip')}
      </a>
      <header class="topbar">
        {/* Its name stays when the words are hidden on a tablet (views.css), so the link is never nameless. */}
        <a class="brand" href="#/" aria-label={t('app.name')}>
          <Logo />
          <span class="brand-name">{t('app.name')}</span>
        </a>
        <nav class="nav">
          <a
            href="#/"
            data-testid="nav-overview"
            class={route.name === 'overview' || route.name === 'site' || route.name === 'device' ? 'on' : ''}
          >
            {t('nav.overview')}
          </a>
          <a href="#/wall" data-testid="nav-wall" class={route.name === 'wall' ? 'on' : ''}>
            {t('nav.wall')}
          </a>
          <a href="#/alerts" class={route.name === 'alerts' ? 'on' : ''} data-testid="nav-alerts">
            {t('nav.alerts')}
            {open > 0 && (
              <span
                class={`badge${snap.unseenAlerts > 0 ? ' pulse' : ''}`}
                data-testid="alert-badge"
                title={snap.unseenAlerts > 0 ? t('alerts.new', { n: snap.unseenAlerts }) : undefined}
              >
                {open}
              </span>
            )}
          </a>
          {snap.meetings !== null && (
            <a
              href="#/meetings"
              class={route.name === 'meetings' || route.name === 'meeting' ? 'on' : ''}
              data-testid="nav-meetings"
            >
              {t('nav.meetings')}
              {liveMeetings > 0 && <span class="badge live-badge">{liveMeetings}</span>}
            </a>
          )}
          {snap.rollouts !== null && (
            <a href="#/rollouts" class={route.name === 'rollouts' ? 'on' : ''} data-testid="nav-rollouts">
              {t('nav.rollouts')}
              {runningRollouts > 0 && <span class="badge live-badge upd">{runningRollouts}</span>}
            </a>
          )}
        </nav>
        <div class="topbar-right">
          <span class={`live ${snap.live ? 'on' : 'off'}`} data-testid="live" role="status">
            <span class="live-dot" />
            {snap.live ? t('live.on') : t('live.off')}
          </span>
          <button
            type="button"
            class={`icon-btn${sound ? ' on' : ''}`}
            aria-pressed={sound}
            title={t('top.sound')}
            onClick={toggleSound}
          >
            <BellIcon muted={!sound} />
          </button>
          <LangSwitch />
          {op && (
            <span class="who" title={op.name ?? ''}>
              {op.name ? `${op.name} · ` : ''}
              {tx('role', op.role)}
            </span>
          )}
          <button type="button" class="btn ghost small" title={op?.name ?? undefined} onClick={signOut}>
            {t('top.signout')}
          </button>
        </div>
      </header>
      <main id="main" class={`main${route.name === 'wall' ? ' is-wall' : ''}`}>
        {snap.error !== null && !snap.loaded && (
          <div class="banner error" role="alert">
            {t('common.error', { msg: errorText(lang, snap.error) })}
            <button class="btn small" onClick={() => void store.load()}>
              {t('common.retry')}
            </button>
          </div>
        )}
        {!snap.loaded && snap.error === null && <div class="loading">{t('common.loading')}</div>}
        {snap.loaded && route.name === 'overview' && <Overview />}
        {snap.loaded && route.name === 'wall' && <WallView chime={chime} onEnableSound={() => saveSound(true)} />}
        {snap.loaded && route.name === 'alerts' && <AlertsView />}
        {snap.loaded && route.name === 'site' && <SiteView id={route.id} />}
        {snap.loaded && route.name === 'device' && <DeviceView id={route.id} />}
        {snap.loaded && route.name === 'meetings' && <MeetingsView />}
        {snap.loaded && route.name === 'rollouts' && <RolloutsView />}
        {snap.loaded && route.name === 'meeting' && <MeetingDetailView id={route.id} />}
      </main>
    </div>
  );
}

/** The chime when an alert opens, if sound is on for this page. */
function useBeepOnNew(unseen: number, enabled: boolean, chime: Chime): void {
  const last = useRef(unseen);
  useEffect(() => {
    const grew = unseen > last.current;
    last.current = unseen;
    if (grew && enabled) chime.play();
  }, [unseen, enabled, chime]);
}

function BellIcon(props: { muted: boolean }) {
  return (
    <svg
      width="20"
      height="20"
      viewBox="0 0 24 24"
      fill="none"
      stroke="currentColor"
      stroke-width="2"
      stroke-linecap="round"
      aria-hidden="true"
    >
      <path d="M6 8a6 6 0 1 1 12 0c0 7 3 9 3 9H3s3-2 3-9" />
      <path d="M10.3 21a1.94 1.94 0 0 0 3.4 0" />
      {props.muted && <path d="M3 3l18 18" />}
    </svg>
  );
}
