// The .wasm under node gives every bundle the answer it must have (issue 19): the cases of the
// fuzz corpus, whose log and answers verifier/fuzz/src/lib.rs and verifier/tests/fuzz_seeds.rs
// describe. Run with `node --test device/wasm/test/verify.test.mjs` after .ci/wasm has built the module.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

import { loadVerifier, wasmPath } from './wasm.mjs';

const corpus = new URL('../../../verifier/fuzz/corpus/bundle/', import.meta.url);
const policy = {
  log_vkey: 'fuzz.example/log+6a89b6fa+AYqI4910CfGV/VLbLTy6XXLKZwm/HZQSG/N0iAG0D29c',
  witness_vkeys: [
    'w1.fuzz.example+019f55e9+BMqTrBcFGHBx1nuDx/8O/oEI6OxFMFdddyaHkzPb2r58',
    'w2.fuzz.example+e087ff41+BG56HN0psLeP0Tr0xVmP7/TvKpcWbjym8uT7/M2AUFvx',
  ],
  quorum: 2,
  now: 1800000000,
  max_age: 3600,
  scheme: 'EUCC',
};
const firmware = '5a'.repeat(32);

function flipped(bytes) {
  const copy = Uint8Array.from(bytes);
  copy[copy.length >> 1] ^= 1;
  return copy;
}

function cases() {
  const bundle = (name) => readFileSync(new URL(name, corpus));
  const suspended = bundle('seed-suspended');
  const request = (id, extra = {}) => ({ ...policy, certificate_id: id, ...extra });
  return [
    ['suspended', suspended, request('FUZZ-1', { firmware_sha256: firmware }), 'suspended'],
    ['absent', bundle('seed-absent'), request('FUZZ-404'), 'absent'],
    [
      'compromised',
      bundle('seed-compromised'),
      request('FUZZ-2', { certifier: 'cb.fuzz.example' }),
      'revoked: certifier compromised',
    ],
    ['earlier key', bundle('seed-earlier-key'), request('FUZZ-1'), 'suspended'],
    ['wrong identity', suspended, request('FUZZ-2'), 'invalid'],
    ['wrong certifier', suspended, request('FUZZ-1', { certifier: 'retired.fuzz.example' }), 'invalid'],
    ['a byte changed', flipped(suspended), request('FUZZ-1'), 'invalid'],
  ];
}

test("the module imports nothing", () => {
  const module = new WebAssembly.Module(readFileSync(wasmPath));
  assert.deepEqual(WebAssembly.Module.imports(module), []);
});

const verifier = await loadVerifier();
for (const [name, bundle, request, expect] of cases()) {
  test(`${name}: ${expect}`, () => {
    const answer = verifier.verify(bundle, request);
    if (expect === 'invalid') {
      assert.equal(answer.ok, false, JSON.stringify(answer));
      assert.equal(answer.kind, 'bundle', answer.error);
    } else {
      assert.equal(answer.ok, true, answer.error);
      assert.equal(answer.standing, expect);
      assert.equal(answer.certificate_id, request.certificate_id);
    }
  });
}
