import type { Page } from 'playwright-core';
import type { Test } from 'tap';
import { ALLOWED_TERMS } from '../../../ui/i18n/allowed-terms.js';

const ALLOWED: ReadonlySet<string> = new Set(ALLOWED_TERMS);

// What a page says, as words, for the language checks: visible text and the
// text of title, aria-label, placeholder and alt attributes, leaving out
// elements marked as another language (lang="...") than the page's or as
// no language (translate="no": ids, product names).

export const pageWords = (page: Page): Promise<string[]> =>
  page.evaluate(`(() => {
  const lang = document.documentElement.lang;
  const out = [];
  // Another language, or no language at all (translate="no": ids, product names).
  const other = (el) => {
    if (el.closest('[translate="no"]')) return true;
    const l = el.closest('[lang]');
    return l && l !== document.documentElement && l.getAttribute('lang') !== lang;
  };
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const el = n.parentElement;
    if (!el || el.closest('script, style, noscript, svg') || other(el)) continue;
    const r = el.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) continue;
    out.push(n.textContent);
  }
  for (const el of document.body.querySelectorAll('[title], [aria-label], [placeholder], [alt]')) {
    if (other(el)) continue;
    for (const a of ['title', 'aria-label', 'placeholder', 'alt']) if (el.hasAttribute(a)) out.push(el.getAttribute(a));
  }
  out.push(document.title);
  return out;
})()`);

/** Words of a text: runs of letters (Vietnamese ones included), lower case; tokens with digits are ids or figures. */
export function tokens(text: string): string[] {
  return (text.toLowerCase().match(/[\p{L}\p{N}_]+/gu) ?? []).filter((w) => w.length >= 2 && !/\d/.test(w));
}

// A Vietnamese syllable written without its diacritics: an onset, one to
// three vowels, and one of the few finals Vietnamese allows. English words
// ("connected", "agent", "queued", "media", "ok") do not fit it.
const SYLLABLE = /^(ngh|ng|nh|ch|gh|gi|kh|ph|qu|th|tr|[bcdđghklmnprstvx])?[aeiouy]{1,3}(ng|nh|ch|[cmnpt])?$/;

export function couldBeVietnamese(word: string): boolean {
  const plain = word
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/đ/g, 'd');
  if (plain !== word.replace(/đ/g, 'd')) return true; // it had Vietnamese marks
  return SYLLABLE.test(plain);
}

/** A word with Vietnamese marks (for the English pages: nothing Vietnamese but names). */
export const hasVietnameseMarks = (word: string): boolean => /[^\p{ASCII}]/u.test(word) && /\p{L}/u.test(word);

/**
 * The page speaks one language: on a Vietnamese page no word that cannot be
 * Vietnamese, on an English one no Vietnamese word; the data shown (site
 * names, people) and the allowed terms (ALLOWED_TERMS) aside.
 */
export async function checkLanguage(
  t: Pick<Test, 'same'>,
  page: Page,
  lang: 'vi' | 'en',
  data: ReadonlySet<string>,
): Promise<void> {
  const words = [...new Set((await pageWords(page)).flatMap(tokens))].filter((w) => !data.has(w) && !ALLOWED.has(w));
  if (lang === 'vi')
    t.same(
      words.filter((w) => !couldBeVietnamese(w)),
      [],
      'no English words',
    );
  else t.same(words.filter(hasVietnameseMarks), [], 'no Vietnamese words');
}
