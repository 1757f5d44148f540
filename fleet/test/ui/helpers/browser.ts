import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

// Debian's Chromium, headless, with a fresh profile per test (never a downloaded browser).
export const CHROMIUM = process.env.DIEMCAU_CHROMIUM ?? '/usr/bin/chromium';

export interface TestBrowser {
  browser: BrowserContext;
  page: Page;
  close(): Promise<void>;
}

export async function openBrowser(
  opts: { width?: number; height?: number; args?: readonly string[] } = {},
): Promise<TestBrowser> {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'diemcau-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-quic',
      ...(opts.args ?? []),
    ],
    viewport: { width: opts.width ?? 1440, height: opts.height ?? 900 },
    locale: 'vi-VN',
    timezoneId: 'Asia/Ho_Chi_Minh',
  });
  const page = context.pages()[0] ?? (await context.newPage());
  return {
    browser: context,
    page,
    async close() {
      await context.close();
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Signs in through the form, as an operator would. */
export async function signIn(page: Page, url: string, token: string): Promise<void> {
  await page.goto(url);
  await page.fill('input[name=token]', token);
  await page.click('button[type=submit]');
  await page.waitForSelector('.topbar');
}

/** Where screenshots go: committed, linked from the README. */
export const SCREENSHOTS = path.resolve(
  path.dirname(new URL(import.meta.url).pathname),
  '..',
  '..',
  '..',
  '..',
  'docs',
  'screenshots',
);

/**
 * Renders the page to a PNG. Only `npm run screenshots` (DIEMCAU_SCREENSHOTS=1)
 * writes it to docs/screenshots: an ordinary test run must not rewrite
 * committed files.
 */
export async function screenshot(page: Page, name: string, fullPage = false): Promise<void> {
  if (process.env.DIEMCAU_SCREENSHOTS !== '1') {
    await page.screenshot({ fullPage });
    return;
  }
  fs.mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage });
}

export type { Browser };
