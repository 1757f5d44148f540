// The update step planner over plain data: every phase, and the edges that
// decide whether a box keeps a working version.
import t from 'tap';
import type { DesiredRelease, ReleaseManifest } from '@diemcau/shared';
import { emptyJournal, type Journal } from '../../src/ota/journal.js';
import { DEFAULT_LIMITS, planNext, type PlanInput } from '../../src/ota/planner.js';

const manifest: ReleaseManifest = {
  v: 1,
  version: '1.1.0',
  artifact: 'a.tar.gz',
  sha256: 'a'.repeat(64),
  size: 1000,
  unpackedSize: 3000,
  minAgentVersion: '1.0.0',
  created: '2026-01-01T00:00:00Z',
  entry: 'agent.mjs',
  native: [],
};
const desired: DesiredRelease = {
  v: 1,
  version: '1.1.0',
  manifest: { v: 1, keyId: 'k', payload: JSON.stringify(manifest), signature: 'c2ln' },
  urls: ['http://fleet/a'],
};
const staged = (phase: Journal['phase'], extra: Partial<Journal> = {}): Journal => ({
  ...emptyJournal(),
  phase,
  target: { desired, manifest },
  ...extra,
});

const input = (over: Partial<PlanInput>): PlanInput => ({
  journal: emptyJournal(),
  desired,
  current: '1.0.0',
  agentVersion: '1.0.0',
  downloaded: 0,
  installed: false,
  freeBytes: 1e12,
  now: Date.parse('2026-01-01T01:00:00Z'),
  limits: { ...DEFAULT_LIMITS, reserveBytes: 100 },
  ...over,
});

t.test('idle', async (t) => {
  t.same(planNext(input({ desired: null })), { action: 'noop' }, 'nothing desired');
  t.same(planNext(input({ current: '1.1.0' })), { action: 'noop' }, 'already there');
  t.same(planNext(input({})), { action: 'accept' }, 'new release accepted');
  const failed = { ...emptyJournal(), failed: [{ version: '1.1.0', sha256: manifest.sha256 }] };
  t.same(planNext(input({ journal: failed })), { action: 'noop' }, 'a release that failed here is not retried');
  const unreported = {
    ...emptyJournal(),
    outcome: { version: '1.1.0', result: 'failed' as const, at: 'x', reported: false },
  };
  t.same(planNext(input({ journal: unreported })), { action: 'report' }, 'an outcome is reported first');
});

t.test('staging', async (t) => {
  t.same(planNext(input({ journal: staged('downloading') })), { action: 'download' });
  t.same(planNext(input({ journal: staged('downloading'), downloaded: 400 })), { action: 'download' }, 'resumes');
  t.same(planNext(input({ journal: staged('downloading'), downloaded: 1000 })), { action: 'verify' });
  t.match(
    planNext(input({ journal: staged('downloading'), freeBytes: 3000 })),
    { action: 'fail', code: 'APPL_ERR_OTA_DISK' },
    'disk checked first',
  );
  t.same(
    planNext(input({ journal: staged('downloading'), downloaded: 900, freeBytes: 3200 })),
    { action: 'download' },
    'counts what is already downloaded',
  );
  t.match(planNext(input({ journal: staged('downloading', { hashFailures: 3 }) })), {
    action: 'fail',
    code: 'APPL_ERR_OTA_HASH',
  });
  t.match(planNext(input({ journal: staged('downloading'), agentVersion: '0.9.0' })), {
    action: 'fail',
    code: 'APPL_ERR_OTA_INCOMPATIBLE',
  });
  t.same(planNext(input({ journal: staged('verified') })), { action: 'install' });
  t.same(planNext(input({ journal: staged('verified'), installed: true })), { action: 'switch' });
  t.same(planNext(input({ journal: staged('installed') })), { action: 'switch' });
  t.match(
    planNext(input({ journal: staged('installed'), desired: null })),
    { action: 'abandon' },
    'fleet withdrew the release',
  );
  t.match(
    planNext(input({ journal: staged('downloading'), desired: { ...desired, version: '1.2.0' } })),
    { action: 'abandon' },
    'fleet changed its mind',
  );
});

t.test('switch and trial', async (t) => {
  t.same(
    planNext(input({ journal: staged('switching', { from: '1.0.0' }) })),
    { action: 'switch' },
    'an interrupted switch is finished',
  );
  t.same(planNext(input({ journal: staged('trial', { bootAttempts: 0 }) })), { action: 'restart' });
  t.same(planNext(input({ journal: staged('trial', { bootAttempts: 1, trialStartedAt: '2026-01-01T00:59:00Z' }) })), {
    action: 'health-check',
  });
  t.same(planNext(input({ journal: staged('trial', { bootAttempts: 1, health: { ok: true } }) })), {
    action: 'commit',
  });
  t.match(
    planNext(
      input({
        journal: staged('trial', {
          bootAttempts: 1,
          health: { ok: false, code: 'APPL_ERR_OTA_HEALTH', message: 'camera' },
        }),
      }),
    ),
    { action: 'rollback', message: 'camera' },
  );
  t.match(planNext(input({ journal: staged('trial', { bootAttempts: 4 }) })), { action: 'rollback' }, 'crash loop');
  t.match(
    planNext(input({ journal: staged('trial', { bootAttempts: 1, trialStartedAt: '2026-01-01T00:00:00Z' }) })),
    { action: 'rollback', code: 'APPL_ERR_OTA_HEALTH' },
    'trial timed out',
  );
  t.same(
    planNext(input({ journal: staged('trial', { bootAttempts: 1 }), desired: null })).action,
    'health-check',
    'a trial finishes even when the desired release is gone',
  );
  t.match(
    planNext(input({ journal: staged('rolling-back', { rollbackReason: { code: 'X', message: 'y' } }) })),
    { action: 'rollback', code: 'X' },
    'an interrupted rollback is finished',
  );
});

t.test('downgrade: refused from the verified manifest before any download', async (t) => {
  const j = staged('downloading');
  t.match(
    planNext(input({ journal: j, current: '1.2.0' })),
    { action: 'fail', code: 'APPL_ERR_OTA_DOWNGRADE' },
    'older than the running version',
  );
  t.match(
    planNext(input({ journal: j, current: '1.1.0-rc.3' })),
    { action: 'download' },
    'a release after its own pre-release is an upgrade',
  );
  const rollback = { ...manifest, allowDowngradeFrom: ['1.2.0'] };
  const signedRollback = staged('downloading', { target: { desired, manifest: rollback } });
  t.match(
    planNext(input({ journal: signedRollback, current: '1.2.0' })),
    { action: 'download' },
    'a rollback signed from the running version',
  );
  t.match(
    planNext(input({ journal: signedRollback, current: '1.3.0' })),
    { action: 'fail', code: 'APPL_ERR_OTA_DOWNGRADE' },
    'but not from another',
  );
});
