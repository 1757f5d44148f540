import t from 'tap';
import { telemetryCodec, presenceCodec, MAX_PAYLOAD_BYTES } from '../src/index.js';

const sample = {
  v: 1,
  seq: 7,
  at: '2026-01-01T00:00:00.000Z',
  cpu: { loadPercent: 12.5 },
  memory: { usedBytes: 1, totalBytes: 2 },
  disk: { usedBytes: 1, totalBytes: 2 },
  network: { rxBytesPerSec: 0, txBytesPerSec: 0 },
  uptimeSec: 3,
};

t.test('a valid telemetry sample decodes to the same value', async (t) => {
  const r = telemetryCodec.decode(Buffer.from(JSON.stringify(sample)));
  t.ok(r.ok);
  if (r.ok) t.same(r.value, sample);
});

t.test('malformed payloads are rejected with a reason, never thrown', async (t) => {
  const cases: Array<[string | Buffer, string]> = [
    ['{not json', 'PROTO_ERR_NOT_JSON'],
    [JSON.stringify({ ...sample, seq: -1 }), 'PROTO_ERR_SCHEMA'],
    [JSON.stringify({ ...sample, v: 99 }), 'PROTO_ERR_VERSION'],
    [JSON.stringify({ ...sample, cpu: { loadPercent: 'x' } }), 'PROTO_ERR_SCHEMA'],
    [Buffer.alloc(MAX_PAYLOAD_BYTES + 1, 32), 'PROTO_ERR_TOO_LARGE'],
    ['null', 'PROTO_ERR_SCHEMA'],
  ];
  for (const [payload, code] of cases) {
    const r = telemetryCodec.decode(payload);
    t.equal(r.ok, false);
    if (!r.ok) t.equal(r.error.code, code, `${String(payload).slice(0, 40)} → ${code}`);
  }
});

t.test('presence requires a known state', async (t) => {
  t.equal(presenceCodec.decode('{"v":1,"state":"maybe","at":"2026-01-01T00:00:00Z"}').ok, false);
  t.equal(presenceCodec.decode('{"v":1,"state":"offline","at":"2026-01-01T00:00:00Z"}').ok, true);
});
