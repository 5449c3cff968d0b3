// The built .wasm for the tests: $CERTLOG_WASM, or where .ci/wasm builds it.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { load } from '../certlog-verifier.mjs';

export const wasmPath =
  process.env.CERTLOG_WASM ??
  fileURLToPath(
    new URL(
      '../../../target/wasm/wasm32-unknown-unknown/release/certlog_verifier_wasm.wasm',
      import.meta.url,
    ),
  );

/** The verifier, loaded from the built .wasm. */
export function loadVerifier() {
  return load(readFileSync(wasmPath));
}
