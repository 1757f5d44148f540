// A throwaway province CA (a self-signed P-256 certificate marked CA:TRUE,
// valid two days), made with openssl as a province's IT staff would, for the
// fleet's /ca page: its files live in a temp dir removed at teardown.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

interface Teardown {
  teardown(fn: () => unknown): void;
}

/** Writes ca.pem and ca.key; returns the certificate's path (DIEMCAU_PROVINCE_CA_FILE). */
export function makeProvinceCa(t: Teardown): string {
  const dir = mkdtempSync(join(tmpdir(), 'diemcau-ca-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      ...['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2'],
      ...['-subj', '/CN=Test province CA', '-addext', 'basicConstraints=critical,CA:TRUE'],
      ...['-keyout', join(dir, 'ca.key'), '-out', join(dir, 'ca.pem')],
    ],
    { stdio: 'ignore' },
  );
  return join(dir, 'ca.pem');
}
