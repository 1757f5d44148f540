// Schema migrations, applied in order and recorded in PRAGMA user_version.
// Append only: a released migration is never edited, a change is a new entry.
// Other areas (commands, OTA, meetings) add their tables as further entries
// here or through registerMigrations() with their own prefix-named tables.

export interface Migration {
  /** Unique, stable name; recorded in the migrations table. */
  name: string;
  sql: string;
}

export const CORE_MIGRATIONS: Migration[] = [
  {
    name: 'core-001-registry',
    sql: `
      CREATE TABLE sites (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        kind TEXT NOT NULL,
        parent_id TEXT REFERENCES sites(id),
        address TEXT,
        contact TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      );
      CREATE INDEX sites_parent ON sites(parent_id);

      CREATE TABLE devices (
        id TEXT PRIMARY KEY,
        site_id TEXT NOT NULL REFERENCES sites(id),
        serial TEXT,
        password_hash TEXT NOT NULL,
        model TEXT,
        os TEXT,
        agent_version TEXT,
        hardware TEXT,
        peripherals TEXT,
        online INTEGER NOT NULL DEFAULT 0,
        last_seen_at TEXT,
        presence_at TEXT,
        enrolled_at TEXT NOT NULL,
        revoked_at TEXT
      );
      CREATE INDEX devices_site ON devices(site_id);
      CREATE UNIQUE INDEX devices_serial ON devices(serial) WHERE serial IS NOT NULL;

      CREATE TABLE enrollment_tokens (
        id INTEGER PRIMARY KEY,
        site_id TEXT NOT NULL REFERENCES sites(id),
        token_hash TEXT NOT NULL UNIQUE,
        uses_left INTEGER NOT NULL,
        expires_at TEXT NOT NULL,
        created_at TEXT NOT NULL,
        created_by TEXT
      );

      -- Boxes listed by hardware serial before they arrive (plug-and-play).
      CREATE TABLE device_serials (
        serial TEXT PRIMARY KEY,
        site_id TEXT NOT NULL REFERENCES sites(id),
        note TEXT,
        created_at TEXT NOT NULL,
        device_id TEXT
      );

      CREATE TABLE telemetry (
        device_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        at TEXT NOT NULL,
        received_at TEXT NOT NULL,
        data TEXT NOT NULL,
        PRIMARY KEY (device_id, seq)
      ) WITHOUT ROWID;

      CREATE TABLE alerts (
        id INTEGER PRIMARY KEY,
        type TEXT NOT NULL,
        key TEXT NOT NULL,
        severity TEXT NOT NULL DEFAULT 'warning',
        state TEXT NOT NULL DEFAULT 'open',
        site_id TEXT,
        device_id TEXT,
        message TEXT,
        details TEXT,
        opened_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        resolved_at TEXT,
        resolution TEXT
      );
      -- At most one open alert per key (device-offline:<id>, district-outage:<id>, ...).
      CREATE UNIQUE INDEX alerts_open_key ON alerts(key) WHERE state = 'open';
      CREATE INDEX alerts_state ON alerts(state, opened_at);
      CREATE INDEX alerts_device ON alerts(device_id);

      CREATE TABLE operators (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        role TEXT NOT NULL,
        district_id TEXT REFERENCES sites(id),
        token_hash TEXT NOT NULL UNIQUE,
        created_at TEXT NOT NULL,
        revoked_at TEXT
      );

      CREATE TABLE audit_log (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        operator_id TEXT,
        operator_name TEXT,
        action TEXT NOT NULL,
        target TEXT,
        outcome TEXT,
        details TEXT
      );
      CREATE INDEX audit_at ON audit_log(at);
    `,
  },
  {
    // The newest sample per device, kept on the device row so that listing
    // 10,000 devices with their latest telemetry is one table scan, not a
    // grouped query over millions of samples.
    name: 'core-002-latest-telemetry',
    sql: `
      ALTER TABLE devices ADD COLUMN latest_seq INTEGER;
      ALTER TABLE devices ADD COLUMN latest_telemetry TEXT;
      ALTER TABLE devices ADD COLUMN latest_received_at TEXT;
    `,
  },
  {
    // A serial belongs to one live device: a revoked device gives it up (the
    // same hardware may enrol again, as a new device) but keeps it on its row
    // for the record. A pre-registration arms one enrolment: used_at is set
    // when a box enrols by it and cleared when an operator registers it
    // again. Rows already bound count as used.
    name: 'core-003-serial-ownership',
    sql: `
      DROP INDEX IF EXISTS devices_serial;
      CREATE UNIQUE INDEX devices_live_serial ON devices(serial) WHERE serial IS NOT NULL AND revoked_at IS NULL;
      ALTER TABLE device_serials ADD COLUMN used_at TEXT;
      UPDATE device_serials SET used_at = created_at WHERE device_id IS NOT NULL;
    `,
  },
  {
    // The hierarchy as data: the imported dataset's site kinds (with labels)
    // and relay groups, one row. A registry from before has none; the fleet
    // fills it from its configured dataset at start (seeds/index.ts).
    name: 'core-004-hierarchy',
    sql: `
      CREATE TABLE hierarchy (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        dataset TEXT NOT NULL,
        name TEXT NOT NULL,
        kinds TEXT NOT NULL,
        relay_groups TEXT,
        updated_at TEXT NOT NULL
      );
    `,
  },
  {
    // A pre-registration is armed for a while, not for ever: the box's serial
    // is printed on it, and whoever knows it may enrol in the box's place
    // while it is armed. Rows from before keep no limit (NULL).
    name: 'core-005-preregistration-expiry',
    sql: `
      ALTER TABLE device_serials ADD COLUMN armed_until TEXT;
    `,
  },
  {
    // Which enrolment token enrolled a device (null: by serial, or before
    // this was kept): a spent token may enrol again only its own device, for
    // a box whose answer was lost (devices/enrol-plan.ts).
    name: 'core-006-enrol-token',
    sql: `
      ALTER TABLE devices ADD COLUMN enrol_token_id INTEGER;
    `,
  },
  {
    // An area operator's area is a subtree (district_id, kept under its first
    // name: it holds the subtree's root site) or a relay group (area_group).
    name: 'core-005-operator-areas',
    sql: `ALTER TABLE operators ADD COLUMN area_group TEXT;`,
  },
];
