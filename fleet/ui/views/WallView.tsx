// The projector wall: every site of the province on one screen without
// scrolling, a compact block per group of the hierarchy (whatever its depth:
// a group holds every site below its hub), the offline sites listed with
// their group's name, full names on hover, and a banner until someone has
// enabled the alert sound (browsers block sound until a click).
import { useEffect, useLayoutEffect, useMemo, useRef, useState } from 'preact/hooks';
import { useI18n } from '../i18n/i18n.js';
import { countStates, SITE_STATES, up, withBox, type SiteState } from '../state/derive.js';
import type { Chime } from '../state/chime.js';
import { hrefSite } from '../state/hooks.js';
import { shortName, useFleetModel } from '../state/model.js';
import { fitFontSize } from './wall-fit.js';

/** States that need someone to act, listed beside the blocks with the group they are in. */
const LISTED: readonly SiteState[] = ['offline', 'media-only', 'degraded'];

export function WallView(props: { chime: Chime; onEnableSound(): void }) {
  const { t } = useI18n();
  const m = useFleetModel();
  const { audible, played } = useChime(props.chime);
  const wall = useRef<HTMLDivElement>(null);
  const blocks = useRef<HTMLDivElement>(null);

  const groups = useMemo(
    () => m.groups.map((g) => ({ group: g, counts: countStates(g.sites, m.states) })),
    [m.groups, m.states],
  );
  const total = useMemo(() => countStates(m.sites, m.states), [m.sites, m.states]);
  const listed = useMemo(
    () =>
      LISTED.map((state) => ({
        state,
        rows: m.groups.flatMap((g) =>
          g.sites
            .filter((s) => m.states.get(s.id) === state)
            .map((s) => ({ site: s, group: g.name ?? t('group.province') })),
        ),
      })),
    [m.groups, m.states, t],
  );

  // The biggest type that still fits the screen; again when the screen, the
  // number of sites or the banner changes (not on every state change: colours
  // do not move anything).
  const [font, setFont] = useState<number | null>(null);
  useLayoutEffect(() => {
    const fit = () => {
      if (wall.current && blocks.current) setFont(fitFontSize(wall.current, blocks.current));
    };
    fit();
    window.addEventListener('resize', fit);
    return () => window.removeEventListener('resize', fit);
  }, [m.sites.length, m.groups.length, audible]);

  return (
    <div class="wall" ref={wall} data-testid="wall" data-font={font ?? ''} data-chimes={played}>
      <h1 class="sr-only">{t('nav.wall')}</h1>
      {!audible && props.chime.available && (
        <div class="wall-banner" role="alert" data-testid="sound-banner">
          <span>{t('wall.soundBlocked')}</span>
          <button
            type="button"
            class="btn primary"
            data-testid="enable-sound"
            onClick={() => {
              void props.chime.unlock();
              props.onEnableSound();
            }}
          >
            {t('wall.enableSound')}
          </button>
        </div>
      )}
      <div class="wall-body">
        <div class="wall-blocks" ref={blocks}>
          {groups.map(({ group, counts }) => (
            <section
              class="wall-block"
              key={group.key}
              data-group={group.key}
              aria-label={group.name ?? t('group.province')}
            >
              <h2 class="wall-head">
                <span class="wall-name" title={group.name ?? t('group.province')}>
                  {group.name ?? t('group.province')}
                </span>
                {counts.offline > 0 && <span class="wall-down">{t('wall.down', { n: counts.offline })}</span>}
                <span class="wall-count">
                  {up(counts)}/{withBox(counts)}
                </span>
              </h2>
              <ul class="wall-cells">
                {group.sites.map((s) => {
                  const st = m.states.get(s.id) ?? 'nobox';
                  const full = `${s.name} · ${t(`state.${st}`)}`;
                  return (
                    <li key={s.id}>
                      <a
                        class={`wcell st-${st}${s.id === group.head?.id ? ' is-hub' : ''}`}
                        href={hrefSite(s.id)}
                        data-site={s.id}
                        data-state={st}
                        title={full}
                        aria-label={full}
                      >
                        {shortName(s.name)}
                      </a>
                    </li>
                  );
                })}
              </ul>
            </section>
          ))}
        </div>
        <aside class="wall-side" aria-label={t('wall.needsAction')}>
          <ul class="wall-totals">
            {SITE_STATES.filter((s) => total[s] > 0).map((s) => (
              <li key={s} class={`st-${s}`} data-testid={`wall-count-${s}`}>
                <span class="n">{total[s]}</span> {t(`state.${s}`)}
              </li>
            ))}
          </ul>
          {listed.map(
            ({ state, rows }) =>
              rows.length > 0 && (
                <section key={state} class={`wall-list st-${state}`} data-testid={`wall-list-${state}`}>
                  <h2>
                    {t(`state.${state}`)} ({rows.length})
                  </h2>
                  <ol>
                    {rows.map(({ site, group }) => (
                      <li key={site.id} data-site={site.id}>
                        <a href={hrefSite(site.id)}>{site.name}</a> <span class="wall-group">{group}</span>
                      </li>
                    ))}
                  </ol>
                </section>
              ),
          )}
          {total.offline + total.degraded === 0 && <p class="wall-ok">{t('wall.allGood')}</p>}
        </aside>
      </div>
    </div>
  );
}

/** Whether the chime can be heard, and how many it played; re-renders on either. */
function useChime(chime: Chime): { audible: boolean; played: number } {
  const read = () => ({ audible: chime.audible, played: chime.played });
  const [state, setState] = useState(read);
  useEffect(() => chime.subscribe(() => setState(read())), [chime]);
  return state;
}
