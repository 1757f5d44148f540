// What a backup archive holds, and where each part comes from and goes back
// to. Pure: the paths are planned from the fleet's settings here; backup.ts
// and restore.ts do the I/O.
import path from 'node:path';
import { Type, type Static } from '@sinclair/typebox';
import { codec } from '@diemcau/shared';
import type { FleetConfig } from '../config.js';

/** The key files the fleet is configured with, by the setting that names each. */
export const KEY_SETTINGS = [
  {
    setting: 'DIEMCAU_OTA_TRUSTED_KEYS',
    name: 'ota-trusted-keys',
    secret: false,
    of: (c: FleetConfig) => c.ota.trustedKeysFile,
  },
  { setting: 'DIEMCAU_TLS_CERT', name: 'tls-cert.pem', secret: false, of: (c: FleetConfig) => c.tlsCert },
  { setting: 'DIEMCAU_TLS_KEY', name: 'tls-key.pem', secret: true, of: (c: FleetConfig) => c.tlsKey },
  { setting: 'DIEMCAU_TLS_CA', name: 'tls-ca.pem', secret: false, of: (c: FleetConfig) => c.tlsCa },
] as const;

/** The registry's entry in the archive, by the store it came from: SQLite's file, or pg_dump's custom format. */
export const REGISTRY_ENTRIES = { sqlite: 'registry.sqlite', postgres: 'registry.pgdump' } as const;
export type BackupEngine = keyof typeof REGISTRY_ENTRIES;
export const MANIFEST_ENTRY = 'backup.json';

const FileSchema = Type.Object({
  /** Inside the archive; also the path below the data dir for releases. */
  path: Type.String({
    pattern:
      '^(registry\\.(sqlite|pgdump)|releases/[A-Za-z0-9][A-Za-z0-9._+-]*/[A-Za-z0-9][A-Za-z0-9._-]*|keys/[a-z0-9][a-z0-9.-]*)$',
  }),
  role: Type.Union([Type.Literal('registry'), Type.Literal('release'), Type.Literal('key')]),
  size: Type.Integer({ minimum: 0 }),
  sha256: Type.String({ pattern: '^[0-9a-f]{64}$' }),
  /** For a key: the setting that points the fleet at it. */
  setting: Type.Optional(Type.String()),
  secret: Type.Optional(Type.Boolean()),
});

export const BackupManifestSchema = Type.Object({
  v: Type.Literal(1),
  kind: Type.Literal('diemcau-fleet-backup'),
  created: Type.String(),
  engine: Type.Union([Type.Literal('sqlite'), Type.Literal('postgres')]),
  /** A PostgreSQL registry: the server's and pg_dump's versions, and the tables dumped. */
  postgres: Type.Optional(
    Type.Object({ server: Type.String(), pgDump: Type.String(), tables: Type.Integer({ minimum: 0 }) }),
  ),
  /** Rows in the registry's main tables at the snapshot, for the operator to compare. */
  counts: Type.Record(Type.String(), Type.Integer({ minimum: 0 })),
  files: Type.Array(FileSchema),
});
export type BackupManifest = Static<typeof BackupManifestSchema>;
export type BackupFile = Static<typeof FileSchema>;
export const backupManifestCodec = codec(BackupManifestSchema);

/** Where a restored file goes below the new data dir (a SQLite registry: the registry file the settings name). */
export function restoredPath(dataDir: string, dbFile: string, f: BackupFile): string {
  if (f.role === 'registry') return path.resolve(dataDir, dbFile);
  return path.resolve(dataDir, f.path);
}

/** Why a backup of one store cannot be restored into the store the settings ask for, if it cannot. */
export function engineMismatch(backup: BackupEngine, target: BackupEngine): string | undefined {
  if (backup === target) return undefined;
  return backup === 'sqlite'
    ? 'this is the backup of an embedded fleet (SQLite) and DIEMCAU_DATABASE_URL is set: restore it without DIEMCAU_DATABASE_URL, then move it with npm run migrate-to-postgres'
    : 'this is the backup of a fleet on PostgreSQL: set DIEMCAU_DATABASE_URL to the (empty) database to restore it into';
}

/** The key files the settings name, as archive entries (a key file given twice is stored once per setting). */
export function plannedKeys(
  config: FleetConfig,
): { setting: string; source: string; entry: string; secret: boolean }[] {
  return KEY_SETTINGS.flatMap((k) => {
    const source = k.of(config);
    return source
      ? [{ setting: k.setting, source: path.resolve(source), entry: `keys/${k.name}`, secret: k.secret }]
      : [];
  });
}
