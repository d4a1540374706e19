import ortWasm from "onnxruntime-web/ort-wasm-simd-threaded.wasm";
import * as ort from "onnxruntime-web/wasm";
// Generated at build time by scripts/lib/warm-up-model.ts: the worker ships the bytes, not an encoder.
import warmUpModel from "../../generated/warm-up-model.bin";

/**
 * workerd forbids compiling WebAssembly from bytes at run time, so ORT cannot fetch and compile its own
 * binary. The bundler hands us the precompiled Module instead; ORT is given a sentinel "binary", and
 * WebAssembly.instantiate is wrapped to instantiate the real Module whenever it sees that sentinel.
 */
const SENTINEL = new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x63, 0x68, 0x72, 0x6e]);

function isSentinel(source: unknown): boolean {
  const bytes =
    source instanceof Uint8Array
      ? source
      : source instanceof ArrayBuffer
        ? new Uint8Array(source)
        : undefined;
  if (!bytes || bytes.byteLength !== SENTINEL.byteLength) return false;
  return bytes.every((b, i) => b === SENTINEL[i]);
}

let installed = false;
function installInstantiateHook(): void {
  if (installed) return;
  installed = true;
  const original = WebAssembly.instantiate.bind(WebAssembly) as (
    source: BufferSource | WebAssembly.Module,
    imports?: WebAssembly.Imports,
  ) => Promise<unknown>;
  (WebAssembly as { instantiate: unknown }).instantiate = async (
    source: BufferSource | WebAssembly.Module,
    imports?: WebAssembly.Imports,
  ) => {
    if (isSentinel(source)) {
      const instance = (await original(ortWasm, imports)) as WebAssembly.Instance;
      return { instance, module: ortWasm };
    }
    return original(source, imports);
  };
}

let ready: Promise<typeof ort> | undefined;

/** Starts ORT once per isolate; concurrent first requests share the same start-up. */
export function loadOrt(): Promise<typeof ort> {
  ready ??= (async () => {
    installInstantiateHook();
    ort.env.wasm.wasmBinary = SENTINEL;
    ort.env.wasm.numThreads = 1;
    ort.env.wasm.proxy = false;
    ort.env.logLevel = "error";
    return ort;
  })();
  return ready;
}

/**
 * Options for every session the edge creates, the warm-up graph's included (so start-up runs the same code).
 * Graph optimisations are off: on the trainer's linear, tree and MLP exports ORT's rewrites gave identical
 * probabilities and no faster runs (1 and 1,000 rows), while applying them took 10–18 % of a cold isolate's
 * first-prediction CPU. ORT then also executes the nodes the safety check read, as written (less the
 * one-hot encoders lifted out of the scoring copy, see loaded-model.ts).
 */
export const SESSION_OPTIONS: ort.InferenceSession.SessionOptions = {
  executionProviders: ["wasm"],
  graphOptimizationLevel: "disabled",
};

export type Ort = typeof ort;
export type OrtSession = ort.InferenceSession;
export type OrtTensor = ort.Tensor;

/**
 * Runs onnxruntime's one-off start-up (WASM instantiation, op-schema registration: nearly all of a cold
 * first prediction) while the isolate starts, not on the first request.
 */
export async function warmUpOrt(): Promise<void> {
  const runtime = await loadOrt();
  const session = await runtime.InferenceSession.create(new Uint8Array(warmUpModel), SESSION_OPTIONS);
  try {
    await session.run({
      num: new runtime.Tensor("float32", Float32Array.of(Number.NaN), [1, 1]),
      cat: new runtime.Tensor("string", ["a"], [1, 1]),
    });
  } finally {
    await session.release();
  }
}
