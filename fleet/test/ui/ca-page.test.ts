// The province CA's page (/ca) in Debian's Chromium, as a laptop or the TV
// shows it to a phone: its QR code, photographed off the rendered page and
// read back by a QR decoder (jsQR, the way a phone's camera reads it), is the
// page's own address; its strict policy blocks nothing the page needs; axe-core
// finds no violation; at a phone's width nothing runs off the screen.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import t from 'tap';
import { startTestFleet } from '../helpers/fleet.js';
import { makeProvinceCa } from '../helpers/province-ca.js';
import { scanQr } from './helpers/qr.js';
import { openBrowser } from './helpers/browser.js';
import { layout } from './helpers/page-checks.js';

const AXE = fs.readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

t.test('/ca shows a QR code of its own address that a phone can scan', async (t) => {
  const f = await startTestFleet(t, { provinceCaFile: makeProvinceCa(t) });
  const own = `http://127.0.0.1:${f.fleet.httpPort}/ca`;

  for (const [what, size] of [
    ['a laptop', { width: 1280, height: 800 }],
    ['a phone', { width: 390, height: 844 }],
  ] as const) {
    const b = await openBrowser(size);
    t.teardown(() => b.close());
    const blocked: string[] = [];
    b.page.on('console', (m) => {
      if (/Content Security Policy|Refused to/i.test(m.text())) blocked.push(m.text());
    });
    const res = await b.page.goto(own);
    t.match(res?.headers()['content-security-policy'], /default-src 'none'/, `${what}: a strict policy`);
    t.equal(await scanQr(b.page, 'figure.qr svg'), own, `${what}: the QR code reads as the page's own address`);
    t.equal(await b.page.locator('#own-url').innerText(), own, 'which is written under it too');
    t.same(blocked, [], `${what}: the policy blocks nothing the page uses`);
    const l = await layout(b.page);
    t.ok(l.scrollWidth <= l.innerWidth, `${what}: nothing runs off the screen (${l.scrollWidth} px)`);
    await b.page.evaluate(AXE);
    const violations = (await b.page.evaluate(
      `axe.run(document, { resultTypes: ['violations'] }).then((r) => r.violations.map((v) => v.id + ': ' + v.nodes.map((n) => n.target.join(' ')).join(', ')))`,
    )) as string[];
    t.same(violations, [], `${what}: axe-core finds no violation`);
  }

  // A host header that is no host gets the page without a QR code, never markup of its making.
  const odd = await f.fleet.http.inject({
    method: 'GET',
    url: '/ca',
    headers: { host: 'x"><script>alert(1)</script>' },
  });
  t.equal(odd.statusCode, 200);
  t.notMatch(odd.body, /<script>alert/, 'nothing of the header in the page');
  t.notMatch(odd.body, /figure class="qr"/, 'and no QR code');
});
