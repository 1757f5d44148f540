import { useI18n } from '../i18n/i18n.js';
import type { SiteState } from '../state/derive.js';

export function StatePill(props: { state: SiteState; large?: boolean }) {
  const { t } = useI18n();
  return (
    <span class={`pill st-${props.state}${props.large ? ' large' : ''}`} data-state={props.state}>
      <span class="dot" />
      {t(`state.${props.state}`)}
    </span>
  );
}
