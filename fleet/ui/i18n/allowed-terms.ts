// Words a Vietnamese page may show that are not Vietnamese: names of
// technologies, units and abbreviations that Vietnamese IT staff use as they
// are. fleet/test/ui/language.test.ts reads this list; anything else in Latin
// letters that cannot be a Vietnamese syllable fails it. Compared in lower case.
export const ALLOWED_TERMS: readonly string[] = [
  // the product's own name, written without diacritics in places
  'diemcau',
  // technologies and protocols
  'mqtt',
  'id',
  'ip',
  'gpio',
  'hdmi',
  'usb',
  'tv',
  'cpu',
  'rtt',
  'qr',
  'api',
  'url',
  'cntt',
  'camera',
  'micro',
  'wifi',
  // units
  'mbit',
  'kbit',
  'kb',
  'mb',
  'gb',
  'gib',
  'mib',
  'ms',
  'fps',
  // the language switch
  'vi',
  'en',
  // abbreviations of Vietnamese bodies (Hội đồng nhân dân, Ủy ban nhân dân...)
  'ubnd',
  'hđnd',
  'hdnd',
];
