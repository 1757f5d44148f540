// The hierarchy as a tree: sites in no group, then each relay group (its hub, then the sites behind it).
// Picking a node filters the grid; a leaf opens the site's page.
import { useState } from 'preact/hooks';
import { useI18n } from '../i18n/i18n.js';
import { countStates } from '../state/derive.js';
import { hrefSite } from '../state/hooks.js';
import { districtShort, useFleetModel } from '../state/model.js';

export function SiteTree(props: { selected: string | null; onSelect(key: string | null): void }) {
  const { t } = useI18n();
  const m = useFleetModel();
  const [open, setOpen] = useState<Set<string>>(new Set());
  const toggle = (key: string) => setOpen((o) => {
    const n = new Set(o);
    if (n.has(key)) n.delete(key); else n.add(key);
    return n;
  });
  const all = countStates(m.sites, m.states);

  return (
    <div class="tree" role="tree">
      <h2 class="panel-title">{t('grid.tree')}</h2>
      <div role="treeitem" class={`tree-row root${props.selected === null ? ' on' : ''}`}>
        <span class="chev" />
        <button type="button" class="tree-label" onClick={() => props.onSelect(null)}>{t('grid.all')}</button>
        <TreeCount up={all.total - all.nobox - all.offline} of={all.total - all.nobox} down={all.offline} />
      </div>
      {m.groups.map((g) => {
        const c = countStates(g.sites, m.states);
        const isOpen = open.has(g.key);
        const leaves = g.sites.filter((s) => s.id !== g.head?.id);
        return (
          <div key={g.key} role="treeitem" aria-expanded={isOpen}>
            <div class={`tree-row${props.selected === g.key ? ' on' : ''}`} data-tree={g.key}>
              <button type="button" class={`chev${isOpen ? ' open' : ''}`} aria-label={g.name ?? t('group.province')}
                onClick={() => toggle(g.key)}>▸</button>
              <button type="button" class="tree-label" onClick={() => props.onSelect(props.selected === g.key ? null : g.key)}>
                {g.name ? districtShort(g.name) : t('group.province')}
              </button>
              <TreeCount up={c.total - c.nobox - c.offline} of={c.total - c.nobox} down={c.offline} />
            </div>
            {isOpen && (
              <ul class="tree-leaves" role="group">
                {leaves.map((s) => {
                  const st = m.states.get(s.id) ?? 'nobox';
                  return (
                    <li key={s.id}>
                      <a href={hrefSite(s.id)} class="tree-leaf"><span class={`dot st-${st}`} title={t(`state.${st}`)} />{s.name}</a>
                    </li>
                  );
                })}
              </ul>
            )}
          </div>
        );
      })}
    </div>
  );
}

function TreeCount(props: { up: number; of: number; down: number }) {
  return (
    <span class="tree-count">
      {props.down > 0 && <span class="down">{props.down}</span>}
      <span>{props.up}/{props.of}</span>
    </span>
  );
}
