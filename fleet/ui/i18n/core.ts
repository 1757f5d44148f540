// The page's words and formats for one language, without any preact: the
// provider (i18n.tsx) holds the choice; Node tests use makeI18n directly.
import { en } from './en.js';
import { vi } from './vi.js';

export type Lang = 'vi' | 'en';
export type MsgKey = keyof typeof vi;
const DICTS: Record<Lang, Record<MsgKey, string>> = { vi, en };

export interface I18n {
  lang: Lang;
  setLang(lang: Lang): void;
  t(key: MsgKey, params?: Record<string, string | number>): string;
  /** A message key that is only known at run time (an alert type, a command status). */
  tx(prefix: string, key: string, fallback?: string): string;
  time(iso: string | null | undefined): string;
  ago(iso: string | null | undefined, now?: number): string;
  duration(ms: number): string;
  num(n: number, digits?: number): string;
}

export function makeI18n(lang: Lang, setLang: (l: Lang) => void): I18n {
  const dict = DICTS[lang];
  const locale = lang === 'vi' ? 'vi-VN' : 'en-GB';
  const dateFmt = new Intl.DateTimeFormat(locale, { dateStyle: 'short', timeStyle: 'medium' });
  const rel = new Intl.RelativeTimeFormat(locale, { numeric: 'auto' });
  const t = (key: MsgKey, params?: Record<string, string | number>): string => {
    const s = dict[key] ?? key;
    return params ? s.replace(/\{(\w+)\}/g, (_, k: string) => String(params[k] ?? `{${k}}`)) : s;
  };
  const duration = (ms: number): string => {
    const s = Math.max(0, Math.round(ms / 1000));
    if (s < 60) return lang === 'vi' ? `${s} giây` : `${s} s`;
    const m = Math.floor(s / 60);
    if (m < 60) return lang === 'vi' ? `${m} phút` : `${m} min`;
    const h = Math.floor(m / 60);
    if (h < 48) return lang === 'vi' ? `${h} giờ ${m % 60} phút` : `${h} h ${m % 60} min`;
    return lang === 'vi' ? `${Math.floor(h / 24)} ngày` : `${Math.floor(h / 24)} days`;
  };
  return {
    lang,
    setLang,
    t,
    tx(prefix, key, fallback) {
      const full = `${prefix}.${key}` as MsgKey;
      return full in dict ? dict[full] : (fallback ?? key);
    },
    time: (iso) => (iso ? dateFmt.format(new Date(iso)) : t('common.never')),
    ago(iso, now = Date.now()) {
      if (!iso) return t('common.never');
      const secs = Math.round((Date.parse(iso) - now) / 1000);
      const abs = Math.abs(secs);
      if (abs < 60) return rel.format(secs, 'second');
      if (abs < 3600) return rel.format(Math.round(secs / 60), 'minute');
      if (abs < 86400) return rel.format(Math.round(secs / 3600), 'hour');
      return rel.format(Math.round(secs / 86400), 'day');
    },
    duration,
    num: (n, digits = 0) => n.toLocaleString(locale, { maximumFractionDigits: digits }),
  };
}
