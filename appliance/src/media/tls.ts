// TLS for the edge's signalling: the operator supplies the edge's certificate
// (issued by the province's CA) and key; the edge's own clients (a downstream
// edge calling its upstream, the agent calling its edge) trust that CA. Plain
// HTTP stays the default when no certificate is given (a closed lab network,
// the demo). A half configuration is refused at start, never a fallback to
// plain text because a path was mistyped (as fleet/src/tls.ts does).
import fs from 'node:fs';
import path from 'node:path';
import { DiemcauError } from '@diemcau/shared';
import type { EdgeConfig } from './config.js';

export interface EdgeTls {
  cert: Buffer;
  key: Buffer;
}

function readPem(file: string, what: string, problems: string[]): Buffer | undefined {
  try {
    const data = fs.readFileSync(file);
    if (!data.includes('-----BEGIN ')) problems.push(`${what}: ${file} is not a PEM file`);
    return data;
  } catch (err) {
    problems.push(`${what}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    return undefined;
  }
}

/** The edge's certificate and key, read once at start; undefined when neither is set. */
export function loadEdgeTls(cfg: Pick<EdgeConfig, 'tlsCert' | 'tlsKey'>): EdgeTls | undefined {
  if (cfg.tlsCert === undefined && cfg.tlsKey === undefined) return undefined;
  const problems: string[] = [];
  if (cfg.tlsCert === undefined) problems.push('DIEMCAU_EDGE_TLS_CERT: required with DIEMCAU_EDGE_TLS_KEY');
  if (cfg.tlsKey === undefined) problems.push('DIEMCAU_EDGE_TLS_KEY: required with DIEMCAU_EDGE_TLS_CERT');
  const cert = cfg.tlsCert === undefined ? undefined : readPem(cfg.tlsCert, 'DIEMCAU_EDGE_TLS_CERT', problems);
  const key = cfg.tlsKey === undefined ? undefined : readPem(cfg.tlsKey, 'DIEMCAU_EDGE_TLS_KEY', problems);
  if (problems.length > 0 || !cert || !key)
    throw new DiemcauError('APPL_ERR_CONFIG', problems.join('; '), { details: problems });
  return { cert, key };
}

/**
 * The CA other edges' certificates are checked against: DIEMCAU_CA_FILE
 * (unreadable is a config error, not a reason to trust anyone), else the CA
 * the box stored at enrolment (identity.json's caCert), else none (the
 * system's roots only).
 */
export function loadTrustedCa(cfg: Pick<EdgeConfig, 'caFile' | 'dataDir'>): string | undefined {
  if (cfg.caFile !== undefined) {
    const problems: string[] = [];
    const pem = readPem(cfg.caFile, 'DIEMCAU_CA_FILE', problems);
    if (problems.length > 0 || !pem)
      throw new DiemcauError('APPL_ERR_CONFIG', problems.join('; '), { details: problems });
    return pem.toString('utf8');
  }
  try {
    const id = JSON.parse(fs.readFileSync(path.join(cfg.dataDir, 'identity.json'), 'utf8')) as { caCert?: unknown };
    return typeof id.caCert === 'string' && id.caCert.includes('-----BEGIN ') ? id.caCert : undefined;
  } catch {
    return undefined;
  }
}
