// Runs before the page is drawn (a plain, blocking script in <head>): puts the
// operator's saved language on <html lang> at once, so the first paint, screen
// readers and the browser's hyphenation already use it. The bundle keeps it in
// step afterwards (i18n.tsx). A separate file, since the policy allows no inline script.
/* global localStorage, document */
try {
  var lang = localStorage.getItem('diemcau.lang');
  if (lang === 'en' || lang === 'vi') document.documentElement.lang = lang;
} catch {
  // storage blocked: the page stays in Vietnamese, as the HTML says
}
