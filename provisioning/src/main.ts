// Entry point of `npm run provision -- ...`.
import { runCli } from './cli.js';

runCli(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`provision: ${(err as Error).message}`);
    process.exit(1);
  },
);
