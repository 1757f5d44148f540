import { useI18n, type Lang } from '../i18n/i18n.js';

const LANGS: { lang: Lang; label: string; title: string }[] = [
  { lang: 'vi', label: 'VI', title: 'Tiếng Việt' },
  { lang: 'en', label: 'EN', title: 'English' },
];

export function LangSwitch() {
  const { lang, setLang, t } = useI18n();
  return (
    <div class="seg" role="group" aria-label={t('top.language')}>
      {LANGS.map((l) => (
        <button
          type="button"
          key={l.lang}
          class={l.lang === lang ? 'on' : ''}
          aria-pressed={l.lang === lang}
          title={l.title}
          lang={l.lang}
          data-lang={l.lang}
          onClick={() => setLang(l.lang)}
        >
          {l.label}
        </button>
      ))}
    </div>
  );
}
