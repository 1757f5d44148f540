// One spelling per hardware serial. A serial decides which device a box is, so
// two spellings of one serial must never be two boxes (" sn-42", "SN-42" and
// the full-width "ＳＮ－４２" are one), and a serial that only looks like
// another (a Cyrillic "С", a zero-width space, a right-to-left override) must
// not enter the registry at all. DMI serials are printable ASCII; after NFKC,
// anything else is refused rather than guessed at.

export const SERIAL_MAX = 128;

const PRINTABLE_ASCII = /^[\x21-\x7e]+(?: [\x21-\x7e]+)*$/;

export type SerialCheck = { ok: true; serial: string } | { ok: false; problem: string };

/** NFKC, spaces trimmed and collapsed, upper case; printable ASCII only, at most SERIAL_MAX characters. */
export function canonicalSerial(raw: string): SerialCheck {
  // Upper case before the length check: no ASCII letter changes length, and
  // non-ASCII is refused below anyway.
  const s = raw.normalize('NFKC').trim().replace(/\s+/g, ' ').toUpperCase();
  if (s.length === 0) return { ok: false, problem: 'serial is empty' };
  if (s.length > SERIAL_MAX)
    return { ok: false, problem: `serial is longer than ${SERIAL_MAX} characters once normalised` };
  if (!PRINTABLE_ASCII.test(s)) {
    return {
      ok: false,
      problem: 'serial must be printable ASCII (letters, digits, punctuation, single spaces) after Unicode NFKC',
    };
  }
  return { ok: true, serial: s };
}
