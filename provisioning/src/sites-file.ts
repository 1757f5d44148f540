// Reads a province's site list from CSV or JSON into validated sites. Every
// problem is reported with its line (CSV) or element number (JSON); a file
// with any problem imports nothing, so a typo never leaves half a province.
import { parse } from 'csv-parse/sync';
import { codec, KINDS_2022, SiteKindRegistry, SiteSchema, validateHierarchy, type Site } from '@diemcau/shared';

export interface RowProblem {
  line: number;
  message: string;
}

export type SitesFileResult = { ok: true; sites: Site[] } | { ok: false; problems: RowProblem[] };

const siteCodec = codec(SiteSchema);
const COLUMNS = ['id', 'name', 'kind', 'parent', 'address', 'contact'] as const;

interface RawRow {
  line: number;
  fields: Record<string, unknown>;
}

function checkHeader(header: string[]): string[] {
  const unknown = header.filter((h) => !(COLUMNS as readonly string[]).includes(h));
  if (unknown.length > 0) throw new Error(`unknown column(s) ${unknown.join(', ')}; expected ${COLUMNS.join(', ')}`);
  return header;
}

function fromCsv(text: string): RawRow[] | RowProblem[] {
  let records: { record: Record<string, string>; info: { lines: number } }[];
  try {
    records = parse(text, { columns: checkHeader, skip_empty_lines: true, trim: true, bom: true, info: true });
  } catch (err) {
    const e = err as { lines?: number; message: string };
    return [{ line: e.lines ?? 1, message: e.message }];
  }
  return records.map(({ record, info }) => ({ line: info.lines, fields: record }));
}

function fromJson(text: string): RawRow[] | RowProblem[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return [{ line: 0, message: `not valid JSON: ${(err as Error).message}` }];
  }
  const list = Array.isArray(value) ? value : (value as { sites?: unknown })?.sites;
  if (!Array.isArray(list)) return [{ line: 0, message: 'expected an array of sites or { "sites": [...] }' }];
  return list.map((fields, i) => ({ line: i + 1, fields: (fields ?? {}) as Record<string, unknown> }));
}

const isProblems = (rows: RawRow[] | RowProblem[]): rows is RowProblem[] => rows.length > 0 && 'message' in rows[0]!;

function toSite(row: RawRow, kinds: SiteKindRegistry): Site | RowProblem {
  const f = row.fields;
  const blankToUndef = (v: unknown) => (v === '' || v === null ? undefined : v);
  const parent = blankToUndef(f.parentId ?? f.parent);
  const candidate: Record<string, unknown> = {
    id: f.id,
    name: f.name,
    kind: f.kind,
    parentId: parent ?? null,
  };
  const address = blankToUndef(f.address);
  const contact = blankToUndef(f.contact);
  if (address !== undefined) candidate.address = address;
  if (contact !== undefined) candidate.contact = contact;
  const r = siteCodec.check(candidate);
  if (!r.ok) return { line: row.line, message: r.error.message };
  // The kinds are the registry's data now, so the schema takes any id; a kind
  // the target fleet does not know is still this row's problem.
  if (!kinds.has(r.value.kind))
    return {
      line: row.line,
      message: `unknown kind ${r.value.kind} (known: ${kinds
        .list()
        .map((k) => k.id)
        .join(', ')})`,
    };
  return r.value;
}

/** `kinds`: the target fleet's site kinds; without them, the 2022 network's. */
export function parseSitesFile(
  text: string,
  format: 'csv' | 'json',
  kinds: SiteKindRegistry = new SiteKindRegistry(KINDS_2022),
): SitesFileResult {
  const rows = format === 'csv' ? fromCsv(text) : fromJson(text);
  if (isProblems(rows)) return { ok: false, problems: rows };
  const problems: RowProblem[] = [];
  const sites: Site[] = [];
  const lineOf = new Map<string, number>();
  for (const row of rows) {
    const s = toSite(row, kinds);
    if ('message' in s) problems.push(s);
    else {
      sites.push(s);
      if (!lineOf.has(s.id)) lineOf.set(s.id, row.line);
    }
  }
  if (problems.length > 0) return { ok: false, problems };
  for (const p of validateHierarchy(sites, kinds)) {
    // validateHierarchy names the site id; point at its row.
    const id = /(?:site id|commune|\w+) ([a-z0-9-]+)/.exec(p)?.[1];
    problems.push({ line: (id && lineOf.get(id)) || 0, message: p });
  }
  return problems.length > 0 ? { ok: false, problems } : { ok: true, sites };
}

export const formatOf = (fileName: string): 'csv' | 'json' =>
  fileName.toLowerCase().endsWith('.json') ? 'json' : 'csv';
