import { useI18n } from '../i18n/i18n.js';

/** `code`: an id or a name in no language, marked so (translate="no"). */
export function Breadcrumb(props: { items: { href?: string; label: string; code?: boolean }[] }) {
  const { t } = useI18n();
  const all = [{ href: '#/', label: t('site.back') }, ...props.items];
  return (
    <nav class="crumbs" aria-label={t('nav.breadcrumb')}>
      {all.map((it, i) => (
        <span key={i}>
          {i > 0 && (
            <span class="sep" aria-hidden="true">
              ›
            </span>
          )}
          {it.href && i < all.length - 1 ? (
            <a href={it.href}>{it.label}</a>
          ) : (
            <span aria-current="page" {...(it.code ? { translate: false, class: 'mono' } : {})}>
              {it.label}
            </span>
          )}
        </span>
      ))}
    </nav>
  );
}
