// The operator's provisioning tool:
//   provision import <sites.csv|sites.json>        import or update the province's sites
//   provision token <siteId> [--out DIR] [--uses N] [--ca FILE]
//                                                  mint an enrolment token, write a bootstrap + QR;
//                                                  --ca puts the fleet's CA (PEM) in the bootstrap for TLS
//   provision preregister <serial> <siteId>        let a box with this serial enrol once with no token;
//                                                  again for a re-imaged box to keep its device id
// The fleet and the operator token come from --fleet/--token or
// DIEMCAU_FLEET_URL / DIEMCAU_OPERATOR_TOKEN.
import fs from 'node:fs/promises';
import { parseArgs } from 'node:util';
import type { EnrolmentTokenResponseSchema } from '@diemcau/shared';
import { KINDS_2022, SiteKindRegistry, type Site, type SiteKindDef } from '@diemcau/shared';
import type { Static } from '@sinclair/typebox';
import { writeBootstrap } from './bootstrap-writer.js';
import { FleetClient } from './fleet-client.js';
import type { ProvisioningSettings } from './settings.js';
import { formatOf, parseSitesFile } from './sites-file.js';

const USAGE = `usage:
  provision import <sites.csv|sites.json>
  provision token <siteId> [--out DIR] [--uses N] [--ca CA.pem]
  provision preregister <serial> <siteId>
options: --fleet URL (DIEMCAU_FLEET_URL)  --token OPERATOR_TOKEN (DIEMCAU_OPERATOR_TOKEN)
An https fleet signed by the province's own CA: NODE_EXTRA_CA_CERTS=CA.pem for this tool.`;

export async function runCli(
  argv: string[],
  settings: Pick<ProvisioningSettings, 'fleetUrl' | 'operatorToken' | 'caFile'> = {},
  out: (line: string) => void = console.log,
): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      fleet: { type: 'string', ...(settings.fleetUrl ? { default: settings.fleetUrl } : {}) },
      token: { type: 'string', ...(settings.operatorToken ? { default: settings.operatorToken } : {}) },
      out: { type: 'string', default: '.' },
      uses: { type: 'string', default: '1' },
      ca: { type: 'string', ...(settings.caFile ? { default: settings.caFile } : {}) },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [command, ...args] = positionals;
  if (values.help || !command) {
    out(USAGE);
    return command ? 0 : 2;
  }
  if (!values.fleet || !values.token) {
    out('provision: the fleet URL and an operator token are required (--fleet, --token)');
    return 2;
  }
  const fleet = new FleetClient(values.fleet, values.token);

  switch (command) {
    case 'import': {
      const file = args[0];
      if (!file) break;
      // The fleet's site kinds come from its dataset; a fleet from before datasets has the 2022 ones.
      const kinds = await fleet
        .request<{ kinds: SiteKindDef[] }>('GET', '/api/v1/hierarchy')
        .then((h) => new SiteKindRegistry(h.kinds))
        .catch(() => new SiteKindRegistry(KINDS_2022));
      const parsed = parseSitesFile(await fs.readFile(file, 'utf8'), formatOf(file), kinds);
      if (!parsed.ok) {
        for (const p of parsed.problems) out(`${file}:${p.line}: ${p.message}`);
        out(`nothing imported: ${parsed.problems.length} problem(s)`);
        return 1;
      }
      const r = await fleet.request<{ created: number; updated: number; unchanged: number }>(
        'POST',
        '/api/v1/sites/import',
        {
          sites: parsed.sites satisfies Site[],
        },
      );
      out(
        `imported ${parsed.sites.length} sites: ${r.created} created, ${r.updated} updated, ${r.unchanged} unchanged`,
      );
      return 0;
    }
    case 'token': {
      const siteId = args[0];
      if (!siteId) break;
      const uses = Number(values.uses);
      const minted = await fleet.request<Static<typeof EnrolmentTokenResponseSchema>>(
        'POST',
        `/api/v1/sites/${encodeURIComponent(siteId)}/enrollment-tokens`,
        { uses },
      );
      const site = await fleet.request<Site>('GET', `/api/v1/sites/${encodeURIComponent(siteId)}`);
      // The box has no way to know the province's CA but from the stick itself.
      const caCert = values.ca ? await fs.readFile(values.ca, 'utf8') : undefined;
      const written = await writeBootstrap(values.out!, {
        v: 1,
        fleetUrl: values.fleet,
        token: minted.token,
        siteId,
        siteName: site.name,
        ...(caCert ? { caCert } : {}),
      });
      out(written.terminalQr);
      out(`site ${site.name} (${siteId}): token valid until ${minted.expiresAt}`);
      out(`bootstrap file: ${written.file}  (copy it to the root of a USB stick)`);
      out(`QR code: ${written.png}`);
      return 0;
    }
    case 'preregister': {
      const [serial, siteId] = args;
      if (!serial || !siteId) break;
      // The fleet answers with the serial in the one spelling it keeps.
      const r = await fleet.request<{ serial?: string }>('POST', '/api/v1/preregistrations', { serial, siteId });
      out(
        `box ${r.serial ?? serial} will enrol into ${siteId} when it first comes online (once; run this again for a re-imaged box to keep its device id)`,
      );
      return 0;
    }
  }
  out(USAGE);
  return 2;
}
