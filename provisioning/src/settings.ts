// Settings of the provisioning tools (`npm run provision`, `release:build`,
// `release:keygen`): one validated tree with each key's variable beside it,
// read once by each tool's entry file (main.ts, build-cli.ts, keygen-cli.ts);
// the command line wins over it. No other module reads the environment.
import { Type, type Static } from '@sinclair/typebox';
import { loadSettings, settingsMarkdown, type Env } from '@diemcau/shared';

export const ProvisioningSettingsSchema = Type.Object({
  fleetUrl: Type.Optional(
    Type.String({
      pattern: '^https?://',
      env: 'DIEMCAU_FLEET_URL',
      description: "the fleet's base URL (--fleet; release:build --upload)",
    }),
  ),
  operatorToken: Type.Optional(
    Type.String({
      minLength: 1,
      env: 'DIEMCAU_OPERATOR_TOKEN',
      description: "provision: an operator's bearer token (--token)",
    }),
  ),
  caFile: Type.Optional(
    Type.String({
      minLength: 1,
      env: 'DIEMCAU_CA_FILE',
      description: "provision token: the fleet's CA (PEM) to put in the bootstrap (--ca)",
    }),
  ),
  releaseKey: Type.Optional(
    Type.String({
      minLength: 1,
      env: 'DIEMCAU_RELEASE_KEY',
      description: 'release:build: the signing key file (--key)',
    }),
  ),
  releaseKeyId: Type.Optional(
    Type.String({
      minLength: 1,
      env: 'DIEMCAU_RELEASE_KEY_ID',
      description: 'release:build: the key id (--key-id; default: derived from the key)',
    }),
  ),
  releaseOut: Type.Optional(
    Type.String({
      minLength: 1,
      env: 'DIEMCAU_RELEASE_OUT',
      description: 'release:build: where releases are written (--out; default dist/releases)',
    }),
  ),
  fleetToken: Type.Optional(
    Type.String({
      minLength: 1,
      env: 'DIEMCAU_FLEET_TOKEN',
      description: 'release:build: the operator token to upload with (--token); with DIEMCAU_FLEET_URL set, uploads',
    }),
  ),
  sourceDateEpoch: Type.Optional(
    Type.Integer({
      minimum: 0,
      // 9999-12-31T23:59:59Z: a later time is no date a tar header or an ISO string can hold.
      maximum: 253402300799,
      env: 'SOURCE_DATE_EPOCH',
      description:
        "release:build: the release's creation time, seconds since 1970 (reproducible builds: the same sources and key give the same bytes); default: now",
    }),
  ),
  releaseKeyDir: Type.String({
    minLength: 1,
    default: 'release-keys',
    env: 'DIEMCAU_RELEASE_KEY_DIR',
    description: 'release:keygen: where the key pair is written (--out)',
  }),
});
export type ProvisioningSettings = Static<typeof ProvisioningSettingsSchema>;

/** The tools' settings from the environment; a bad value throws PROV_ERR_CONFIG listing every problem. */
export function loadProvisioningSettings(env: Env): ProvisioningSettings {
  return loadSettings(ProvisioningSettingsSchema, { env }, 'PROV_ERR_CONFIG').settings;
}

export function provisioningSettingsTable(): string {
  return settingsMarkdown(ProvisioningSettingsSchema);
}
