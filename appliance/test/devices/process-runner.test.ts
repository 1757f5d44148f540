import t from 'tap';
import { ProcessRunner, runFailure } from '../../src/devices/process-runner.js';

// The one owner of the tools the checks run: typed failures, never a hang.

t.test('output, exit codes and typed failures', async (t) => {
  const runner = new ProcessRunner();
  t.teardown(() => runner.close());
  const ok = await runner.run('sh', ['-c', 'cat; echo done >&2'], { input: 'hello', timeoutMs: 10_000 });
  t.equal(ok.stdout.toString(), 'hello');
  t.match(ok.stderr, /done/);

  const code = await runner.spawn('sh', ['-c', 'echo why >&2; exit 3'], { timeoutMs: 10_000 });
  t.equal(code.code, 3, 'spawn() returns a non-zero exit as a result');
  const exit = await runner.run('sh', ['-c', 'echo why >&2; exit 3'], { timeoutMs: 10_000 }).catch((e: unknown) => e);
  t.equal(runFailure(exit), 'exit');
  t.match((exit as Error).message, /exited with 3: why/);

  const missing = await runner.run('/nonexistent/ffmpeg', [], { timeoutMs: 10_000 }).catch((e: unknown) => e);
  t.equal(runFailure(missing), 'not-installed');
  t.equal((missing as { code: string }).code, 'APPL_ERR_HARDWARE');

  const slow = await runner.run('sleep', ['30'], { timeoutMs: 200 }).catch((e: unknown) => e);
  t.equal(runFailure(slow), 'timeout');

  const big = await runner
    .run('head', ['-c', '100000', '/dev/zero'], { timeoutMs: 10_000, maxStdoutBytes: 1000 })
    .catch((e: unknown) => e);
  t.equal(runFailure(big), 'too-much-output');
  t.equal(runFailure(new Error('plain')), null);
});

t.test('close kills what is running and refuses new runs', async (t) => {
  const runner = new ProcessRunner();
  const pending = runner.run('sleep', ['30'], { timeoutMs: 60_000 }).catch((e: unknown) => e);
  runner.close();
  runner.close();
  t.equal(runFailure(await pending), 'closed');
  t.equal(runFailure(await runner.run('true', [], { timeoutMs: 1000 }).catch((e: unknown) => e)), 'closed');
});
