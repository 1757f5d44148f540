// Other spellings of a request target that a router might take for the same
// route: percent-encodings (once or twice), dot segments, doubled slashes,
// another case, absolute form, trailing characters. Used by the fail-closed
// test of the fleet's API (fleet/test/api/auth-spellings.test.ts) and by
// `npm run fuzz`, both sending over a raw TCP socket so the target reaches
// the server byte for byte (inject() and fetch() would normalise it).
import net from 'node:net';
import fc from 'fast-check';

const pct = (c: string, lower = false): string => {
  const h = c.charCodeAt(0).toString(16).padStart(2, '0');
  return `%${lower ? h : h.toUpperCase()}`;
};
const letterIndexes = (path: string): number[] => [...path].flatMap((c, i) => (/[a-zA-Z]/.test(c) ? [i] : []));
const replaceAt = (s: string, i: number, by: string): string => s.slice(0, i) + by + s.slice(i + 1);
const slashIndexes = (path: string): number[] => [...path].flatMap((c, i) => (c === '/' ? [i] : []));

/** Characters put after the path: each must land on the same route, on no route, or be refused. */
export const TRAILERS = [
  '',
  '/',
  '?',
  '#',
  ';',
  '%00',
  '%2f',
  '%2F',
  '%20',
  '?x=1',
  '#/../x',
  ';x=1',
  '/.',
  '/..',
  '%3f',
  '%23',
  '\\',
  '.',
  '~',
];

/**
 * The fixed table: a handful of spellings of each kind for `path` (which must
 * start with `/`). Deterministic, so a failure names the spelling.
 */
export function spellingTable(path: string): string[] {
  const out = new Set<string>();
  const letters = letterIndexes(path);
  const segs = path.split('/').filter(Boolean);
  // Percent-encoded letters: the first, the last, one in each segment, all of them.
  if (letters.length > 0) {
    out.add(replaceAt(path, letters[0]!, pct(path[letters[0]!]!)));
    out.add(replaceAt(path, letters.at(-1)!, pct(path[letters.at(-1)!]!, true)));
    out.add([...path].map((c) => (/[a-zA-Z]/.test(c) ? pct(c) : c)).join(''));
    let offset = 0;
    for (const seg of segs) {
      const at = path.indexOf(seg, offset);
      offset = at + seg.length;
      const li = [...seg].findIndex((c) => /[a-zA-Z]/.test(c));
      if (li >= 0) out.add(replaceAt(path, at + li, pct(seg[li]!)));
    }
    // Double encoding: %2561 decodes once to %61, never to "a".
    out.add(replaceAt(path, letters[0]!, `%25${pct(path[letters[0]!]!).slice(1)}`));
    // Slashes encoded.
    out.add(path.replace(/\//g, '%2F'));
    out.add(path.replace(/\/(?=.)/g, (m, i: number) => (i === 0 ? m : '%2f')));
  }
  // Dot segments.
  out.add(`/x/..${path}`);
  out.add(`/.${path}`);
  out.add(`/%2e${path}`);
  out.add(`/x/%2e%2e${path}`);
  out.add(`/ui/..${path}`);
  out.add(`/docs/..${path}`);
  if (segs.length > 1) out.add(`/${segs[0]}/./${segs.slice(1).join('/')}`);
  if (segs.length > 1) out.add(`/${segs[0]}/x/../${segs.slice(1).join('/')}`);
  // Doubled slashes.
  out.add(`/${path}`);
  for (const i of slashIndexes(path).slice(1, 3)) out.add(replaceAt(path, i, '//'));
  out.add(path.replace(/\//g, '\\').replace(/^\\/, '/'));
  // Case.
  out.add(path.toUpperCase());
  if (segs[0]) out.add(path.replace(segs[0], segs[0].toUpperCase()));
  // Absolute form.
  for (const base of ['http://h', 'HTTP://H', 'https://h', 'http://u@h:80', 'HtTp://127.0.0.1'])
    out.add(`${base}${path}`);
  // Trailing characters.
  for (const tail of TRAILERS) out.add(`${path}${tail}`);
  return [...out];
}

/** Random spellings: any mix of the moves above, on any letters and slashes. */
export function spellingArbitrary(path: string): fc.Arbitrary<string> {
  const letters = letterIndexes(path);
  const slashes = slashIndexes(path);
  const move = fc.oneof(
    fc.record({ k: fc.constant('pct' as const), i: fc.nat(), lower: fc.boolean() }),
    fc.record({ k: fc.constant('pct2' as const), i: fc.nat(), lower: fc.boolean() }),
    fc.record({ k: fc.constant('upper' as const), i: fc.nat(), lower: fc.boolean() }),
    fc.record({ k: fc.constant('slash' as const), i: fc.nat(), lower: fc.boolean() }),
    fc.record({ k: fc.constant('dot' as const), i: fc.nat(), lower: fc.boolean() }),
  );
  return fc
    .tuple(
      fc.array(move, { maxLength: 4 }),
      fc.constantFrom('', '', 'http://h', 'HTTP://h', '/x/..', '/.', '/'),
      fc.constantFrom(...TRAILERS),
    )
    .map(([moves, prefix, tail]) => {
      // Moves apply on character positions of the plain path, last position first, so indexes stay valid.
      const edits = new Map<number, string>();
      for (const m of moves) {
        if (m.k === 'slash' || m.k === 'dot') {
          if (slashes.length < 2) continue;
          const i = slashes[1 + (m.i % (slashes.length - 1))]!;
          edits.set(i, m.k === 'slash' ? '//' : m.lower ? '/./' : '/x/../');
        } else if (letters.length > 0) {
          const i = letters[m.i % letters.length]!;
          const c = path[i]!;
          edits.set(
            i,
            m.k === 'pct'
              ? pct(c, m.lower)
              : m.k === 'pct2'
                ? `%25${pct(c, m.lower).slice(1)}`
                : c === c.toUpperCase()
                  ? c.toLowerCase()
                  : c.toUpperCase(),
          );
        }
      }
      let s = path;
      for (const i of [...edits.keys()].sort((a, b) => b - a)) s = replaceAt(s, i, edits.get(i)!);
      return `${prefix}${s}${tail}`;
    });
}

export interface RawResponse {
  status: number;
  /** Header names lower-cased. */
  headers: Record<string, string>;
  body: string;
}

/**
 * One HTTP/1.1 request over its own TCP connection, the target written as
 * given. Status 0 when the server closed without answering. Bounded in time.
 */
export function rawRequest(
  port: number,
  req: { method: string; target: string; headers?: Record<string, string>; body?: string },
  timeoutMs = 5000,
): Promise<RawResponse> {
  return new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const finish = (): void => {
      clearTimeout(timer);
      sock.destroy();
      const text = Buffer.concat(chunks).toString('latin1');
      const headEnd = text.indexOf('\r\n\r\n');
      const head = (headEnd < 0 ? text : text.slice(0, headEnd)).split('\r\n');
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head[0] ?? '')?.[1] ?? 0);
      const headers: Record<string, string> = {};
      for (const line of head.slice(1)) {
        const c = line.indexOf(':');
        if (c > 0) headers[line.slice(0, c).trim().toLowerCase()] = line.slice(c + 1).trim();
      }
      resolve({ status, headers, body: headEnd < 0 ? '' : text.slice(headEnd + 4) });
    };
    const timer = setTimeout(finish, timeoutMs);
    sock.on('data', (d) => chunks.push(d));
    sock.on('end', finish);
    sock.on('error', finish);
    const body = req.body ?? '';
    const lines = [`${req.method} ${req.target} HTTP/1.1`, 'Host: 127.0.0.1', 'Connection: close'];
    for (const [k, v] of Object.entries(req.headers ?? {})) lines.push(`${k}: ${v}`);
    if (body.length > 0 || !['GET', 'HEAD', 'OPTIONS'].includes(req.method))
      lines.push(`Content-Length: ${Buffer.byteLength(body)}`);
    sock.write(`${lines.join('\r\n')}\r\n\r\n${body}`);
  });
}

/** Runs `fn` over `items` with at most `n` in flight; results in order. */
export async function pool<T, R>(items: readonly T[], n: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!);
      }
    }),
  );
  return out;
}
