// A short run of the protocol fuzzer (`npm run fuzz` runs 10,000 cases a parser).
import t from 'tap';
import { fuzzCodec, protocolCodecs } from '../../bench/fuzz/codecs.js';

const codecs = protocolCodecs();
t.ok(codecs.length >= 8, `found ${codecs.length} protocol codecs`);
for (const [name, c] of codecs) {
  t.test(name, async (t) => {
    const r = fuzzCodec(name, c, 300, 42);
    t.equal(r.failures, 0, r.firstFailure ?? 'no failures');
    t.ok(r.accepted > 0, 'valid messages are accepted');
    t.ok(r.rejected > 0, 'broken messages are rejected');
  });
}
