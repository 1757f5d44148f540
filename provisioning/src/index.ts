export { parseSitesFile, formatOf, type RowProblem, type SitesFileResult } from './sites-file.js';
export { writeBootstrap } from './bootstrap-writer.js';
export { FleetClient, FleetApiError } from './fleet-client.js';
export { runCli } from './cli.js';
