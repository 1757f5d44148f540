import type { Page } from 'playwright-core';

// Measurements taken inside the page, shared by the browser tests. Page-side
// code is given as strings: the Node typecheck has no DOM types.

export interface Layout {
  innerWidth: number;
  innerHeight: number;
  scrollWidth: number;
  scrollHeight: number;
}

export const layout = (page: Page): Promise<Layout> =>
  page.evaluate(`({
  innerWidth, innerHeight,
  scrollWidth: document.documentElement.scrollWidth,
  scrollHeight: document.documentElement.scrollHeight,
})`);

/** Visible text under `px` CSS pixels: each as "font-size: text". */
export const smallText = (page: Page, px = 12): Promise<string[]> =>
  page.evaluate(`(() => {
  const out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const text = n.textContent.trim();
    const el = n.parentElement;
    if (!text || !el || el.closest('[hidden], noscript, .sr-only, .skip')) continue;
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0) continue;
    const size = parseFloat(getComputedStyle(el).fontSize);
    if (size < ${px}) out.push(size + 'px: ' + text.slice(0, 40));
  }
  return out;
})()`);

/** How many distinct rows the top bar's direct parts sit on (1 when nothing wrapped). */
export const topbarRows = (page: Page): Promise<number> =>
  page.evaluate(`(() => {
  const bar = document.querySelector('.topbar');
  const tops = [...bar.children].map((c) => { const r = c.getBoundingClientRect(); return Math.round(r.top + r.height / 2); });
  return new Set(tops.map((t) => Math.round(t / 12))).size;
})()`);

/** Elements (by data-site) whose box ends below the window or past its right edge. */
export const offScreen = (page: Page, selector: string): Promise<string[]> =>
  page.evaluate(`(() => {
  return [...document.querySelectorAll(${JSON.stringify(selector)})].filter((e) => {
    const r = e.getBoundingClientRect();
    return r.bottom > innerHeight || r.right > innerWidth || r.width === 0;
  }).map((e) => e.getAttribute('data-site'));
})()`);

/**
 * Waits until `expr` is true in the page. Playwright's waitForFunction polls
 * by evaluating a string inside the page, which the dashboard's policy
 * (no 'unsafe-eval') forbids; this asks from outside instead, every 100 ms,
 * at most `timeoutMs`.
 */
export async function waitUntil(page: Page, expr: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if ((await page.evaluate(expr)) === true) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${expr}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
