// The certlog proof-bundle verifier for JavaScript: loads certlog_verifier_wasm.wasm (the crate
// certlog-verifier-wasm, built by .ci/wasm) and calls its exports (src/exports.rs).
//
//   import { load } from './certlog-verifier.mjs';
//   const verifier = await load(fetch('certlog_verifier_wasm.wasm'));   // or its bytes
//   const answer = verifier.verify(bundleBytes, {
//     log_vkey: '...', witness_vkeys: ['...'], quorum: 1,
//     scheme: 'EUCC', certificate_id: 'EUCC-1', certifier: null,
//     firmware_sha256: null, now: Math.floor(Date.now() / 1000), max_age: 86400,
//     trusted: null,   // or the answer.tree of the last verified bundle
//   });
//   if (answer.ok) show(answer.standing, answer.certificate, answer.status.history);
//   else show(answer.error);   // answer.kind: "bundle" (it does not verify) or "request"
//
// The request and the answer are described in src/request.rs and src/report.rs. The module does
// not panic on any input; if a call ever throws a WebAssembly.RuntimeError (a trap), load it
// again rather than go on with its memory.

/**
 * Instantiates the verifier from the .wasm: its bytes (ArrayBuffer or typed array), a compiled
 * WebAssembly.Module, or a Response (or a promise of one), as fetch gives it.
 */
export async function load(wasm) {
  const source = await wasm;
  let instance;
  if (source instanceof WebAssembly.Module) {
    instance = await WebAssembly.instantiate(source, {});
  } else if (typeof Response !== 'undefined' && source instanceof Response) {
    ({ instance } = await WebAssembly.instantiate(await source.arrayBuffer(), {}));
  } else {
    ({ instance } = await WebAssembly.instantiate(source, {}));
  }
  return new Verifier(instance);
}

/** A loaded verifier. */
export class Verifier {
  constructor(instance) {
    this.exports = instance.exports;
  }

  /**
   * Verifies a bundle (a Uint8Array) as `request` asks; returns the answer: the verified
   * certificate, its standing and its history (ok: true), or why not (ok: false).
   */
  verify(bundle, request) {
    const { memory, dealloc, verify } = this.exports;
    const bundleBytes = bundle instanceof Uint8Array ? bundle : new Uint8Array(bundle);
    const requestBytes = new TextEncoder().encode(JSON.stringify(request));
    let bundlePtr = 0;
    let requestPtr = 0;
    try {
      bundlePtr = this.copyIn(bundleBytes);
      requestPtr = this.copyIn(requestBytes);
      const answerPtr = verify(bundlePtr, bundleBytes.length, requestPtr, requestBytes.length);
      if (answerPtr === 0) {
        throw new Error('certlog verifier: out of memory');
      }
      // The answer: its length (4 bytes, little-endian), then its JSON.
      const length = new DataView(memory.buffer).getUint32(answerPtr, true);
      const json = new TextDecoder().decode(
        new Uint8Array(memory.buffer, answerPtr + 4, length),
      );
      dealloc(answerPtr, 4 + length);
      return JSON.parse(json);
    } finally {
      // dealloc ignores null pointers.
      dealloc(bundlePtr, bundleBytes.length);
      dealloc(requestPtr, requestBytes.length);
    }
  }

  /** Copies bytes into a buffer of the module's memory. */
  copyIn(bytes) {
    const ptr = this.exports.alloc(bytes.length);
    if (ptr === 0) {
      throw new Error('certlog verifier: out of memory');
    }
    // After alloc: the memory may have grown, which detaches earlier views of it.
    new Uint8Array(this.exports.memory.buffer, ptr, bytes.length).set(bytes);
    return ptr;
  }
}
