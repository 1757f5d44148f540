// The province at a glance: counts by state, filters, the hierarchy as a tree
// and every site as a coloured tile, grouped by the dataset's relay groups
// (a district and its communes in 2022, the sites behind a hub after 2025).
import { useEffect, useMemo, useState } from 'preact/hooks';
import type { SiteKind } from '../api/types.js';
import { Actions } from '../components/Actions.js';
import { useI18n } from '../i18n/i18n.js';
import {
  countStates,
  matchSite,
  up,
  withBox,
  NO_FILTER,
  SITE_STATES,
  type Counts,
  type SiteFilter,
  type SiteState,
} from '../state/derive.js';
import { hrefSite } from '../state/hooks.js';
import { shortName, useFleetModel } from '../state/model.js';
import { SiteTree } from './SiteTree.js';

const FILTER_KEY = 'diemcau.filter';

function savedFilter(): SiteFilter {
  try {
    const raw = sessionStorage.getItem(FILTER_KEY);
    if (raw) return { ...NO_FILTER, ...(JSON.parse(raw) as Partial<SiteFilter>) };
  } catch {
    /* fresh filter */
  }
  return NO_FILTER;
}

export function Overview() {
  const { t, lang } = useI18n();
  const m = useFleetModel();
  const [filter, setFilterState] = useState<SiteFilter>(savedFilter);
  const setFilter = (patch: Partial<SiteFilter>) => setFilterState((f) => ({ ...f, ...patch }));
  useEffect(() => {
    try {
      sessionStorage.setItem(FILTER_KEY, JSON.stringify(filter));
    } catch {
      /* not kept */
    }
  }, [filter]);

  const total = useMemo(() => countStates(m.sites, m.states), [m.sites, m.states]);
  const visible = useMemo(
    () =>
      m.groups.map((g) => ({
        group: g,
        counts: countStates(g.sites, m.states),
        sites: g.sites.filter((s) => matchSite(s, filter, m.states.get(s.id) ?? 'nobox', g.key)),
      })),
    [m.groups, m.states, filter],
  );
  const shown = visible.reduce((n, v) => n + v.sites.length, 0);
  const filtered = filter !== NO_FILTER && JSON.stringify(filter) !== JSON.stringify(NO_FILTER);

  const toggleState = (s: SiteState) =>
    setFilter({
      states: filter.states.includes(s) ? filter.states.filter((x) => x !== s) : [...filter.states, s],
    });

  return (
    <div class="overview">
      <aside class="tree-panel" aria-label={t('grid.tree')}>
        <SiteTree selected={filter.group} onSelect={(group) => setFilter({ group })} />
      </aside>
      <section class="grid-panel">
        <h1 class="sr-only">{t('nav.overview')}</h1>
        <div class="summary" role="group" aria-label={t('filter.state')}>
          {SITE_STATES.filter((s) => total[s] > 0 || s === 'offline' || s === 'online').map((s) => (
            <button
              type="button"
              key={s}
              class={`stat st-${s}${total[s] > 0 ? ' nonzero' : ''}${filter.states.includes(s) ? ' on' : ''}`}
              aria-pressed={filter.states.includes(s)}
              data-testid={`count-${s}`}
              onClick={() => toggleState(s)}
            >
              <span class="stat-n">{total[s]}</span>
              <span class="stat-label">
                <span class="dot" />
                {t(`state.${s}`)}
              </span>
            </button>
          ))}
        </div>
        <div class="filters">
          <input
            class="search"
            type="search"
            placeholder={t('filter.search')}
            aria-label={t('filter.search')}
            value={filter.query}
            onInput={(e) => setFilter({ query: (e.target as HTMLInputElement).value })}
          />
          {m.groups.length > 1 && (
            <select
              aria-label={t('filter.allDistricts')}
              value={filter.group ?? ''}
              onChange={(e) => setFilter({ group: (e.target as HTMLSelectElement).value || null })}
            >
              <option value="">{t('filter.allDistricts')}</option>
              {m.groups.map((g) => (
                <option key={g.key} value={g.key}>
                  {g.name ?? t('group.province')}
                </option>
              ))}
            </select>
          )}
          <select
            aria-label={t('filter.allKinds')}
            value={filter.kind ?? ''}
            onChange={(e) => setFilter({ kind: ((e.target as HTMLSelectElement).value || null) as SiteKind | null })}
          >
            <option value="">{t('filter.allKinds')}</option>
            {m.kinds.map((k) => (
              <option key={k} value={k}>
                {m.kindLabel(k, lang)}
              </option>
            ))}
          </select>
          {filtered && (
            <button type="button" class="btn ghost small" onClick={() => setFilterState(NO_FILTER)}>
              {t('filter.clear')}
            </button>
          )}
          <span class="shown muted" data-testid="shown">
            {t('grid.shown', { n: shown, total: total.total })}
          </span>
        </div>
        {shown === 0 && <p class="empty">{t('grid.empty')}</p>}
        {visible
          .filter((v) => v.sites.length > 0)
          .map(({ group, counts, sites }) => (
            <section class="district" key={group.key} data-district={group.key}>
              <header class="district-head">
                <h2>
                  {group.head ? (
                    <a href={hrefSite(group.head.id)}>{group.name}</a>
                  ) : (
                    (group.name ?? t('group.province'))
                  )}
                </h2>
                <CountBar counts={counts} />
                <span class="district-count" data-testid={`district-count-${group.key}`}>
                  {up(counts)}/{withBox(counts)}
                </span>
                {group.actOn && (
                  <Actions compact target={{ kind: 'site', siteId: group.actOn.id, name: group.actOn.name }} />
                )}
              </header>
              <div class="tiles">
                {sites.map((s) => {
                  const st = m.states.get(s.id) ?? 'nobox';
                  return (
                    <a
                      key={s.id}
                      href={hrefSite(s.id)}
                      class={`tile st-${st}${s.id === group.head?.id ? ' is-district' : ''}`}
                      data-site={s.id}
                      data-state={st}
                      title={`${s.name} · ${t(`state.${st}`)}`}
                    >
                      <span class="tile-name">{shortName(s.name)}</span>
                      {m.helpSites.has(s.id) && (
                        <span class="tile-help" title={t('alert.help')}>
                          !
                        </span>
                      )}
                      <span class="tile-state">{t(`state.${st}`)}</span>
                    </a>
                  );
                })}
              </div>
            </section>
          ))}
      </section>
    </div>
  );
}

/** A thin stacked bar of states: how healthy a group is, readable from across a room. */
export function CountBar(props: { counts: Counts }) {
  const c = props.counts;
  if (c.total === 0) return null;
  return (
    <span class="countbar" aria-hidden="true">
      {SITE_STATES.map((s) => c[s] > 0 && <span key={s} class={`seg-${s}`} style={{ flexGrow: c[s] }} />)}
    </span>
  );
}
