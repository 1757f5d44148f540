// Vietnamese by default, English on request; the choice is kept in the browser.
import { createContext, type ComponentChildren } from 'preact';
import { useContext, useEffect, useMemo, useState } from 'preact/hooks';
import { makeI18n, type I18n, type Lang } from './core.js';

export type { I18n, Lang, MsgKey } from './core.js';
const STORAGE_KEY = 'diemcau.lang';

const I18nContext = createContext<I18n>(makeI18n('vi', () => {}));

export function initialLang(): Lang {
  try {
    const saved = localStorage.getItem(STORAGE_KEY);
    if (saved === 'en' || saved === 'vi') return saved;
  } catch {
    /* storage blocked: Vietnamese */
  }
  return 'vi';
}

export function I18nProvider(props: { children: ComponentChildren }) {
  const [lang, setLangState] = useState<Lang>(initialLang);
  const value = useMemo(
    () =>
      makeI18n(lang, (l) => {
        try {
          localStorage.setItem(STORAGE_KEY, l);
        } catch {
          /* not kept, still switched */
        }
        setLangState(l);
      }),
    [lang],
  );
  // boot.js set it before the first paint from the same saved choice; this keeps it in step.
  useEffect(() => {
    document.documentElement.lang = lang;
    document.title = `${value.t('app.name')} · ${value.t('app.tagline')}`;
  }, [lang]);
  return <I18nContext.Provider value={value}>{props.children}</I18nContext.Provider>;
}

export const useI18n = (): I18n => useContext(I18nContext);
