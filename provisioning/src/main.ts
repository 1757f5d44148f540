// Entry point of `npm run provision -- ...`: the one reader of the environment.
import { runCli } from './cli.js';
import { loadProvisioningSettings } from './settings.js';

Promise.resolve()
  .then(() => runCli(process.argv.slice(2), loadProvisioningSettings(process.env)))
  .then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(`provision: ${(err as Error).message}`);
      process.exit(1);
    },
  );
