// What a Docker engine would do with our Dockerfile and .dockerignore, for a
// machine that has no engine: the instructions by stage, the context as the
// ignore file leaves it, and COPY's rules for files and folders. Enough of
// the reference (docs.docker.com/reference/dockerfile, "COPY" and
// ".dockerignore file") for the instructions our Dockerfiles use; anything
// else is an error, so the test cannot silently skip a step it does not know.
import fs from 'node:fs';
import path from 'node:path';

export interface Instruction {
  op: string;
  args: string;
  line: number;
}

export interface Stage {
  name: string;
  base: string;
  instructions: Instruction[];
}

/** Instructions grouped by stage; continuation lines joined, comments dropped. */
export function parseDockerfile(text: string): Stage[] {
  const stages: Stage[] = [];
  let pending = '';
  let startLine = 0;
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (pending === '' && (line === '' || line.startsWith('#'))) return;
    if (pending !== '' && line.startsWith('#')) return;
    if (pending === '') startLine = i + 1;
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1)} `;
      return;
    }
    const full = (pending + line).trim();
    pending = '';
    const m = /^(\w+)\s+([\s\S]*)$/.exec(full);
    if (!m) throw new Error(`Dockerfile line ${startLine}: cannot parse "${full}"`);
    const op = m[1]!.toUpperCase();
    const args = m[2]!.trim();
    if (op === 'FROM') {
      const f = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
      if (!f) throw new Error(`Dockerfile line ${startLine}: FROM ${args}`);
      stages.push({ base: f[1]!, name: f[2] ?? String(stages.length), instructions: [] });
      return;
    }
    const stage = stages.at(-1);
    if (!stage) throw new Error(`Dockerfile line ${startLine}: ${op} before FROM`);
    stage.instructions.push({ op, args, line: startLine });
  });
  return stages;
}

export interface Copy {
  from?: string;
  sources: string[];
  dest: string;
}

/** A COPY's flags, sources and destination (shell form only, as we write them). */
export function parseCopy(args: string): Copy {
  const words = args.split(/\s+/);
  let from: string | undefined;
  while (words[0]?.startsWith('--')) {
    const flag = words.shift()!;
    if (flag.startsWith('--from=')) from = flag.slice('--from='.length);
    else if (!flag.startsWith('--chown=') && !flag.startsWith('--chmod='))
      throw new Error(`COPY flag ${flag} is not modelled`);
  }
  if (words.length < 2) throw new Error(`COPY ${args}: needs a source and a destination`);
  const dest = words.pop()!;
  return { ...(from ? { from } : {}), sources: words, dest };
}

/** One .dockerignore pattern as a regular expression over a context-relative path ('/'-separated). */
function patternRegex(pattern: string): RegExp {
  const parts = path.posix.normalize(pattern.replace(/^\/+/, '')).split('/');
  const body = parts
    .map((p) =>
      p === '**'
        ? '(?:[^/]+/)*'
        : `${p
            .replace(/[.+^${}()|[\]\\]/g, '\\$&')
            .replace(/\*/g, '[^/]*')
            .replace(/\?/g, '[^/]')}/`,
    )
    .join('')
    .replace(/\/$/, '');
  return new RegExp(`^${body.replace(/\(\?:\[\^\/\]\+\/\)\*$/, '.*')}$`);
}

/**
 * Whether the context leaves out a path: the last matching pattern decides
 * (a `!pattern` brings a path back), and a path under a left-out folder is
 * left out with it.
 */
export function dockerIgnore(text: string): (rel: string) => boolean {
  const rules = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) =>
      l.startsWith('!') ? { keep: true, re: patternRegex(l.slice(1)) } : { keep: false, re: patternRegex(l) },
    );
  const matches = (rel: string): boolean => {
    let out = false;
    for (const r of rules) if (r.re.test(rel)) out = !r.keep;
    return out;
  };
  return (rel) => {
    const parts = rel.split('/');
    for (let i = 1; i <= parts.length; i++) if (matches(parts.slice(0, i).join('/'))) return true;
    return false;
  };
}

/** Every file (and symlink) of the context that the ignore file lets through, context-relative. */
export function contextFiles(root: string, ignored: (rel: string) => boolean): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    for (const e of fs.readdirSync(path.join(root, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (ignored(r)) continue;
      if (e.isDirectory()) walk(r);
      else out.push(r);
    }
  };
  walk('');
  return out.sort();
}

/**
 * COPY's rules: a folder's contents go into the destination folder; a file
 * goes to the destination, or into it when it ends in '/' or there are
 * several sources. `keep(rel)` filters a source tree (the context's ignore
 * file); folders are copied as hard links when `link` (node_modules is big).
 */
export function copyInto(
  srcRoot: string,
  copy: Copy,
  destRoot: string,
  workdir: string,
  keep: (rel: string) => boolean = () => true,
): void {
  const destAbs = path.join(
    destRoot,
    path.posix.isAbsolute(copy.dest) ? copy.dest : path.posix.join(workdir, copy.dest),
  );
  const intoDir = copy.dest.endsWith('/') || copy.sources.length > 1;
  for (const src of copy.sources) {
    const rel = src.replace(/^\/+/, '');
    const abs = path.join(srcRoot, rel);
    if (!fs.existsSync(abs) || !keep(rel))
      throw new Error(`COPY ${src}: not in the ${copy.from ? `stage ${copy.from}` : 'build context'}`);
    if (fs.lstatSync(abs).isDirectory()) {
      fs.mkdirSync(destAbs, { recursive: true });
      copyTree(abs, destAbs, (r) => keep(path.posix.join(rel, r)));
    } else {
      const target = intoDir ? path.join(destAbs, path.basename(rel)) : destAbs;
      fs.mkdirSync(path.dirname(target), { recursive: true });
      fs.copyFileSync(abs, target);
      fs.chmodSync(target, fs.statSync(abs).mode);
    }
  }
}

/** A folder's contents, symlinks kept as links and files hard-linked (a copy when linking fails). */
function copyTree(from: string, to: string, keep: (rel: string) => boolean, rel = ''): void {
  for (const e of fs.readdirSync(path.join(from, rel), { withFileTypes: true })) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (!keep(r)) continue;
    const s = path.join(from, r);
    const d = path.join(to, r);
    if (e.isSymbolicLink()) fs.symlinkSync(fs.readlinkSync(s), d);
    else if (e.isDirectory()) {
      fs.mkdirSync(d, { recursive: true });
      copyTree(from, to, keep, r);
    } else {
      try {
        fs.linkSync(s, d);
      } catch {
        fs.copyFileSync(s, d);
      }
    }
  }
}

/** Links a whole tree (files hard-linked): what `npm ci` plus setup.mjs left in a checkout. */
export function linkTree(from: string, to: string): void {
  fs.mkdirSync(to, { recursive: true });
  copyTree(from, to, () => true);
}
