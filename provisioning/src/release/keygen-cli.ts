// npm run release:keygen -- [--out <dir>] [--name release-signing]
// Writes <name>.key (private, mode 0600: keep it off the fleet), <name>.pub.pem
// and trusted-keys.json (give that to the fleet as DIEMCAU_OTA_TRUSTED_KEYS
// and to each box's updater).
import { parseArgs } from 'node:util';
import { loadProvisioningSettings } from '../settings.js';
import { generateReleaseKey } from './keys.js';

const { values } = parseArgs({ options: { out: { type: 'string' }, name: { type: 'string' } } });
const settings = loadProvisioningSettings(process.env);
const k = generateReleaseKey(values.out ?? settings.releaseKeyDir, values.name ?? 'release-signing');
process.stdout.write(
  `key ${k.keyId}\n  private: ${k.privateKeyFile} (keep offline)\n  public:  ${k.publicKeyFile}\n  trusted: ${k.trustedKeysFile}\n`,
);
