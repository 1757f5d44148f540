import { readFileSync } from 'node:fs';
import { DiemcauError } from '@diemcau/shared';
import type { FleetConfig } from './config.js';

/** What node:tls and fastify's `https` option take. */
export interface TlsFiles {
  cert: Buffer;
  key: Buffer;
  ca?: Buffer;
}

/**
 * Reads the certificate files named in the config, once at start. Undefined
 * when none are set (plain MQTT and HTTP, for a closed lab network). A half
 * configuration (a cert without a key) or an unreadable file is a config
 * error listing every problem: the fleet must never fall back to plain text
 * because a path was mistyped.
 */
export function loadTlsFiles(config: Pick<FleetConfig, 'tlsCert' | 'tlsKey' | 'tlsCa'>): TlsFiles | undefined {
  const { tlsCert, tlsKey, tlsCa } = config;
  if (tlsCert === undefined && tlsKey === undefined && tlsCa === undefined) return undefined;
  const problems: string[] = [];
  if (tlsCert === undefined) problems.push('tlsCert (DIEMCAU_TLS_CERT): required with a TLS key or CA');
  if (tlsKey === undefined) problems.push('tlsKey (DIEMCAU_TLS_KEY): required with a TLS certificate or CA');
  const read = (path: string | undefined, what: string): Buffer | undefined => {
    if (path === undefined) return undefined;
    try {
      const data = readFileSync(path);
      if (!data.includes('-----BEGIN ')) problems.push(`${what}: ${path} is not a PEM file`);
      return data;
    } catch (err) {
      problems.push(`${what}: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
      return undefined;
    }
  };
  const cert = read(tlsCert, 'tlsCert (DIEMCAU_TLS_CERT)');
  const key = read(tlsKey, 'tlsKey (DIEMCAU_TLS_KEY)');
  const ca = read(tlsCa, 'tlsCa (DIEMCAU_TLS_CA)');
  if (problems.length > 0 || !cert || !key)
    throw new DiemcauError('FLEET_ERR_CONFIG', problems.join('; '), { details: problems });
  return { cert, key, ...(ca ? { ca } : {}) };
}
