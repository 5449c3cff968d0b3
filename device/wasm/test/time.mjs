// The time to verify a bundle under node: the fuzz corpus's compromised-certifier bundle (a
// checkpoint, two cosignatures, a certificate and its certifier's record: four signatures, three
// map proofs), with a quorum of 2. Prints the load time and the mean of 200 verifications.
import { readFileSync } from 'node:fs';

import { loadVerifier } from './wasm.mjs';

const bundle = readFileSync(new URL('../../../verifier/fuzz/corpus/bundle/seed-compromised', import.meta.url));
const request = {
  log_vkey: 'fuzz.example/log+6a89b6fa+AYqI4910CfGV/VLbLTy6XXLKZwm/HZQSG/N0iAG0D29c',
  witness_vkeys: [
    'w1.fuzz.example+019f55e9+BMqTrBcFGHBx1nuDx/8O/oEI6OxFMFdddyaHkzPb2r58',
    'w2.fuzz.example+e087ff41+BG56HN0psLeP0Tr0xVmP7/TvKpcWbjym8uT7/M2AUFvx',
  ],
  quorum: 2,
  scheme: 'EUCC',
  certificate_id: 'FUZZ-2',
  certifier: 'cb.fuzz.example',
  now: 1800000000,
  max_age: 3600,
};

let start = performance.now();
const verifier = await loadVerifier();
const loaded = performance.now() - start;
const first = verifier.verify(bundle, request);
if (first.standing !== 'revoked: certifier compromised') {
  throw new Error(`unexpected answer: ${JSON.stringify(first)}`);
}
const runs = 200;
start = performance.now();
for (let i = 0; i < runs; i++) {
  verifier.verify(bundle, request);
}
const each = (performance.now() - start) / runs;
console.log(
  `load ${loaded.toFixed(1)} ms; verify ${each.toFixed(2)} ms (mean of ${runs}, ${bundle.length}-byte bundle)`,
);
