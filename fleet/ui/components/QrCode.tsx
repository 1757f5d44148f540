// A QR code drawn as SVG elements by the page itself: the `qrcode` package
// (the one the fleet's /ca page uses) computes the modules, preact draws them.
// No markup string goes through innerHTML and nothing is fetched, so the
// dashboard's policy (no inline style, images from itself only) is untouched,
// and the link, a bearer credential, never leaves the browser to be drawn.
import { useMemo } from 'preact/hooks';
import { create } from 'qrcode';

/** Quiet zone, in modules: what the QR standard asks for so a camera finds the code. */
const MARGIN = 4;

/** One path of the dark modules, a horizontal run per segment (far shorter than one square per module). */
export function qrPath(text: string): { size: number; d: string } {
  const qr = create(text, { errorCorrectionLevel: 'M' });
  const n = qr.modules.size;
  let d = '';
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < n; c++) {
      if (!qr.modules.get(r, c)) continue;
      let end = c;
      while (end + 1 < n && qr.modules.get(r, end + 1)) end++;
      d += `M${c + MARGIN} ${r + MARGIN}h${end - c + 1}v1h-${end - c + 1}z`;
      c = end;
    }
  }
  return { size: n + 2 * MARGIN, d };
}

export function QrCode(props: { text: string; label: string; testId?: string }) {
  const { size, d } = useMemo(() => qrPath(props.text), [props.text]);
  return (
    <svg
      class="qr-code"
      viewBox={`0 0 ${size} ${size}`}
      role="img"
      aria-label={props.label}
      shape-rendering="crispEdges"
      data-testid={props.testId}
    >
      <rect width={size} height={size} fill="#fff" />
      <path d={d} fill="#000" />
    </svg>
  );
}
