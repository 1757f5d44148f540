import jsqr from 'jsqr';
import type { Page } from 'playwright-core';

/**
 * A QR code as a phone's camera reads it: a screenshot of the rendered
 * element, its pixels read in a blank page, decoded by jsQR. Null when it
 * does not decode.
 */
export async function scanQr(page: Page, selector: string): Promise<string | null> {
  const png = await page.locator(selector).screenshot();
  const blank = await page.context().newPage();
  try {
    const img = (await blank.evaluate(`(async () => {
      const img = new Image();
      img.src = 'data:image/png;base64,${png.toString('base64')}';
      await img.decode();
      const c = document.createElement('canvas');
      c.width = img.naturalWidth;
      c.height = img.naturalHeight;
      const g = c.getContext('2d');
      g.drawImage(img, 0, 0);
      return { width: c.width, height: c.height, data: Array.from(g.getImageData(0, 0, c.width, c.height).data) };
    })()`)) as { width: number; height: number; data: number[] };
    // jsqr is CommonJS: its function is both the module and its `default`, which is what its types name.
    return jsqr.default(Uint8ClampedArray.from(img.data), img.width, img.height)?.data ?? null;
  } finally {
    await blank.close();
  }
}
