import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { isDiemcauError } from '@diemcau/shared';
import { loadTlsFiles } from '../../src/tls.js';
import { buildFleet } from '../../src/app.js';

// A mistyped certificate path must stop the fleet with every problem listed,
// never start it in plain text. (The TLS servers themselves are tested end to
// end in appliance/test/e2e/tls.test.ts with a throwaway CA.)

const problemsOf = (fn: () => unknown): string[] => {
  try {
    fn();
  } catch (err) {
    if (isDiemcauError(err) && err.code === 'FLEET_ERR_CONFIG') return err.details as string[];
    throw err;
  }
  return [];
};

t.test('no TLS settings: plain listeners', async (t) => {
  t.equal(loadTlsFiles({}), undefined);
});

t.test('half a configuration or unreadable files are config errors, all listed', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'diemcau-tls-config-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const notPem = join(dir, 'cert.txt');
  writeFileSync(notPem, 'hello');
  t.match(
    problemsOf(() => loadTlsFiles({ tlsCert: notPem })),
    [/tlsKey \(DIEMCAU_TLS_KEY\): required/, /not a PEM file/],
  );
  const missing = problemsOf(() => loadTlsFiles({ tlsCert: join(dir, 'nope.pem'), tlsKey: join(dir, 'nope.key') }));
  t.equal(missing.length, 2);
  t.match(missing.join('\n'), /cannot read .*nope\.pem \(ENOENT\)/);
  await t.rejects(
    buildFleet({
      config: {
        httpPort: 0,
        mqttPort: 0,
        host: '127.0.0.1',
        dataDir: dir,
        dbFile: ':memory:',
        logLevel: 'silent',
        tlsKey: join(dir, 'k.pem'),
      },
    }),
    { code: 'FLEET_ERR_CONFIG' },
    'the fleet does not start',
  );
});
