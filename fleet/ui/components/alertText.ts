import type { Alert } from '../api/types.js';
import type { I18n } from '../i18n/i18n.js';

// Alert types come from several modules (presence, health); match families by
// prefix so a new reason ("camera-frozen") still gets a readable label.
const FAMILIES: [RegExp, string][] = [
  [/^device-offline$/, 'device-offline'],
  [/^flapping$/, 'flapping'],
  [/^district-outage$/, 'district-outage'],
  [/^camera/, 'camera'],
  [/^mic/, 'microphone'],
  [/^(display|tv)/, 'display'],
  [/^disk/, 'disk'],
  [/(temp|heat)/, 'temperature'],
  [/^help/, 'help'],
];

export function alertFamily(type: string): string {
  return FAMILIES.find(([re]) => re.test(type))?.[1] ?? 'other';
}

export function alertLabel(i18n: I18n, a: Alert): string {
  const fam = alertFamily(a.type);
  return fam === 'other' ? a.type : i18n.tx('alert', fam);
}
