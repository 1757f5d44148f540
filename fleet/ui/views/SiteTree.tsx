// The hierarchy as a tree: sites in no group, then each relay group (its hub, then the sites behind it).
// Picking a node filters the grid; a leaf opens the site's page. Plain nested
// lists with disclosure buttons (aria-expanded), which every screen reader
// reads, rather than an ARIA tree that would need its own keyboard model.
import { useState } from 'preact/hooks';
import { useI18n } from '../i18n/i18n.js';
import { countStates, up, withBox } from '../state/derive.js';
import { hrefSite } from '../state/hooks.js';
import { districtShort, useFleetModel } from '../state/model.js';

export function SiteTree(props: { selected: string | null; onSelect(key: string | null): void }) {
  const { t } = useI18n();
  const m = useFleetModel();
  const [open, setOpen] = useState<Set<string>>(new Set());
  const toggle = (key: string) =>
    setOpen((o) => {
      const n = new Set(o);
      if (n.has(key)) n.delete(key);
      else n.add(key);
      return n;
    });
  const all = countStates(m.sites, m.states);

  return (
    <nav class="tree" aria-labelledby="tree-title">
      <h2 class="panel-title" id="tree-title">
        {t('grid.tree')}
      </h2>
      <div class={`tree-row root${props.selected === null ? ' on' : ''}`}>
        <span class="chev" />
        <button
          type="button"
          class="tree-label"
          aria-pressed={props.selected === null}
          onClick={() => props.onSelect(null)}
        >
          {m.areaName ?? t('grid.all')}
        </button>
        <TreeCount up={up(all)} of={withBox(all)} down={all.offline} />
      </div>
      <ul class="tree-groups">
        {m.groups.map((g) => {
          const c = countStates(g.sites, m.states);
          const isOpen = open.has(g.key);
          const leaves = g.sites.filter((s) => s.id !== g.head?.id);
          const name = g.name ?? t('group.province');
          return (
            <li key={g.key}>
              <div class={`tree-row${props.selected === g.key ? ' on' : ''}`} data-tree={g.key}>
                <button
                  type="button"
                  class={`chev${isOpen ? ' open' : ''}`}
                  aria-expanded={isOpen}
                  aria-label={t('grid.expand', { name })}
                  onClick={() => toggle(g.key)}
                >
                  ▸
                </button>
                <button
                  type="button"
                  class="tree-label"
                  aria-pressed={props.selected === g.key}
                  title={name}
                  onClick={() => props.onSelect(props.selected === g.key ? null : g.key)}
                >
                  {g.name ? districtShort(g.name) : t('group.province')}
                </button>
                <TreeCount up={up(c)} of={withBox(c)} down={c.offline} />
              </div>
              {isOpen && (
                <ul class="tree-leaves">
                  {leaves.map((s) => {
                    const st = m.states.get(s.id) ?? 'nobox';
                    return (
                      <li key={s.id}>
                        <a href={hrefSite(s.id)} class="tree-leaf" title={`${s.name} · ${t(`state.${st}`)}`}>
                          <span class={`dot st-${st}`} aria-hidden="true" />
                          {s.name}
                        </a>
                      </li>
                    );
                  })}
                </ul>
              )}
            </li>
          );
        })}
      </ul>
    </nav>
  );
}

function TreeCount(props: { up: number; of: number; down: number }) {
  return (
    <span class="tree-count">
      {props.down > 0 && <span class="down">{props.down}</span>}
      <span>
        {props.up}/{props.of}
      </span>
    </span>
  );
}
