// The time to verify a bundle under node: the shared vectors' "active-as-a-device-asks" case (a
// checkpoint with two cosignatures and a quorum of 2, a certificate signed by its certifier, the
// certifier's record and the status record proven in the status map, a firmware digest and a
// maximum age). Prints the time to load the module and the mean of 200 verifications.
import { readFileSync } from 'node:fs';

import { loadVerifier } from './wasm.mjs';

const vectors = new URL('../../../verifier/tests/vectors/bundles/', import.meta.url);
const manifest = JSON.parse(readFileSync(new URL('manifest.json', vectors)));
const { name, file, expect, ...question } = manifest.cases.find(
  (c) => c.name === 'active-as-a-device-asks',
);
const bundle = readFileSync(new URL(file, vectors));
const request = { log_vkey: manifest.log_vkey, witness_vkeys: manifest.witness_vkeys, ...question };

let start = performance.now();
const verifier = await loadVerifier();
const loaded = performance.now() - start;
const first = verifier.verify(bundle, request);
if (first.standing !== expect) {
  throw new Error(`${name}: ${JSON.stringify(first)}, not ${expect}`);
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
