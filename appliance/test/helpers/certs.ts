import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

// A throwaway certificate authority and a server certificate for 127.0.0.1,
// made with the openssl command line as an operator (the province's IT
// centre) would make them. EC keys: the CA's PEM is small enough to travel in
// the bootstrap's QR code.

export interface TestCerts {
  caFile: string;
  certFile: string;
  keyFile: string;
  caPem: string;
}

/** Writes the CA and the server's certificate and key into dir (made if missing); caName tells two CAs apart. */
export function makeCerts(dir: string, caName = 'Diemcau test CA'): TestCerts {
  fs.mkdirSync(dir, { recursive: true });
  const f = (name: string) => path.join(dir, name);
  const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  ssl(
    'req',
    '-x509',
    ...ec,
    '-keyout',
    f('ca.key'),
    '-out',
    f('ca.pem'),
    '-days',
    '2',
    '-subj',
    `/CN=${caName}`,
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  );
  ssl('req', ...ec, '-keyout', f('server.key'), '-out', f('server.csr'), '-subj', '/CN=127.0.0.1');
  fs.writeFileSync(f('server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  ssl(
    'x509',
    '-req',
    '-in',
    f('server.csr'),
    '-CA',
    f('ca.pem'),
    '-CAkey',
    f('ca.key'),
    '-CAcreateserial',
    '-out',
    f('server.pem'),
    '-days',
    '2',
    '-extfile',
    f('server.ext'),
  );
  return {
    caFile: f('ca.pem'),
    certFile: f('server.pem'),
    keyFile: f('server.key'),
    caPem: fs.readFileSync(f('ca.pem'), 'utf8'),
  };
}
