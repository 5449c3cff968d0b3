// The .wasm under node gives every case of the shared bundle vectors
// (verifier/tests/vectors/bundles/manifest.json) the answer the manifest says, as the native
// verifier does (issue 19). Run with `node --test device/wasm/test/verify.test.mjs` once
// .ci/wasm has built the module.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

import { loadVerifier, wasmPath } from './wasm.mjs';

const vectors = new URL('../../../verifier/tests/vectors/bundles/', import.meta.url);
const manifest = JSON.parse(readFileSync(new URL('manifest.json', vectors)));

/** A case's bundle and the request that asks its question. */
function question(c) {
  const bundle = readFileSync(new URL(c.file, vectors));
  const request = {
    log_vkey: manifest.log_vkey,
    witness_vkeys: manifest.witness_vkeys,
    quorum: c.quorum,
    scheme: c.scheme,
    certificate_id: c.certificate_id,
    certifier: c.certifier,
    firmware_sha256: c.firmware_sha256,
    now: c.now,
    max_age: c.max_age,
    trusted: c.trusted,
  };
  return { bundle, request };
}

const verifier = await loadVerifier();

test('the module imports nothing', () => {
  const module = new WebAssembly.Module(readFileSync(wasmPath));
  assert.deepEqual(WebAssembly.Module.imports(module), []);
});

test('the manifest has the cases of every kind', () => {
  assert.ok(manifest.cases.length >= 30, `${manifest.cases.length} cases`);
});

for (const c of manifest.cases) {
  test(`${c.name}: ${c.expect}`, () => {
    const { bundle, request } = question(c);
    const answer = verifier.verify(bundle, request);
    if (c.expect === 'invalid') {
      assert.equal(answer.ok, false, JSON.stringify(answer));
      // The bundle does not verify; the request itself is fine.
      assert.equal(answer.kind, 'bundle', answer.error);
    } else {
      assert.equal(answer.ok, true, answer.error);
      assert.equal(answer.standing, c.expect);
      assert.equal(answer.certificate_id, c.certificate_id);
    }
  });
}

test('the history of a certificate revoked by the operator', () => {
  const c = manifest.cases.find((c) => c.name === 'revoked-by-the-operator');
  const { bundle, request } = question(c);
  const { status, certifier } = verifier.verify(bundle, request);
  const last = status.history.at(-1);
  assert.equal(status.status, 'revoked');
  assert.equal(last.status, 'revoked');
  assert.equal(last.by, 'operator');
  assert.equal(last.index, status.last_change_index);
  assert.equal(certifier.name, status.certifier);
});

test('the tree an answer gives is the one to trust next', () => {
  const c = manifest.cases.find((c) => c.name === 'active');
  const { bundle, request } = question(c);
  const { tree } = verifier.verify(bundle, request);
  const again = verifier.verify(bundle, { ...request, trusted: tree });
  assert.equal(again.standing, 'active');
  const larger = { ...tree, size: tree.size + 1 };
  assert.equal(verifier.verify(bundle, { ...request, trusted: larger }).ok, false);
});
