import type { Alert } from '../api/types.js';
import type { I18n } from '../i18n/i18n.js';

// Alert types come from several modules (presence, health); match families by
// prefix so a new reason ("camera-frozen") still gets a readable label.
const FAMILIES: [RegExp, string][] = [
  [/^device-offline$/, 'device-offline'],
  [/^flapping$/, 'flapping'],
  [/^district-outage$/, 'district-outage'],
  [/^fleet-reconnect$/, 'fleet-reconnect'],
  [/^camera/, 'camera'],
  [/^mic/, 'microphone'],
  [/^(display|tv)/, 'display'],
  [/^disk/, 'disk'],
  [/(temp|heat)/, 'temperature'],
  [/^help/, 'help'],
  [/^site-not-ready$/, 'readiness'],
];

export function alertFamily(type: string): string {
  return FAMILIES.find(([re]) => re.test(type))?.[1] ?? 'other';
}

/** The alert's particulars in words, from its details (the fleet's own message is English, for logs). */
export function alertDetail(i18n: I18n, a: Alert): string | null {
  const d = (a.details ?? {}) as Record<string, unknown>;
  const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
  switch (a.type) {
    case 'disk-nearly-full': {
      const r = num(d.usedRatio);
      return r === null ? null : i18n.t('alertSub.disk', { pct: i18n.num(r * 100) });
    }
    case 'overheating': {
      const c = num(d.temperatureC);
      return c === null ? null : i18n.t('alertSub.temperature', { c: i18n.num(c, 1) });
    }
    case 'help-requested':
      return i18n.t('alertSub.help');
    case 'microphone-silent':
      return i18n.t('alertSub.silent');
    case 'site-not-ready': {
      // The fleet gives each reason in both languages (readiness/grade.ts).
      const reasons = Array.isArray(d.reasons) ? (d.reasons as Record<string, unknown>[]) : [];
      const words = reasons.map((r) => r[i18n.lang]).filter((w): w is string => typeof w === 'string');
      return words.length > 0 ? words.join('; ') : null;
    }
  }
  if (/-(missing|disconnected)$/.test(a.type)) return i18n.t('alertSub.missing');
  if (/-fault$/.test(a.type)) return i18n.t('alertSub.fault');
  return null;
}

export function alertLabel(i18n: I18n, a: Alert): string {
  const fam = alertFamily(a.type);
  return fam === 'other' ? a.type : i18n.tx('alert', fam);
}
