import type * as Ort from 'onnxruntime-web';
import tfjsWasm from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import tfjsWasmSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import tfjsWasmThreadedSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import ortWasm from 'onnxruntime-web/ort-wasm-simd-threaded.jsep.wasm?url';
import { ErrorCode, HangarError } from '../../../shared/errors.ts';
import type { Backend } from '../protocol.ts';

// The libraries are imported only when a backend is first asked for, so a worker that runs ONNX
// never loads tfjs and the reverse. The .wasm files come from `?url` imports: served by Vite (and
// emitted with the build), so they load from our own origin, offline too — left alone, tfjs looks
// next to its (pre-bundled) script and ONNX Runtime next to its own, where they are not.

/** Why a backend could not be used, per backend tried. */
type Tried = { backend: Backend; error: string }[];

const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

/** The requested backends a module supports, in the requested order; none at all is an error. */
export function supported(requested: readonly Backend[], supports: readonly Backend[], module: string): Backend[] {
  const usable = requested.filter((b, i) => supports.includes(b) && requested.indexOf(b) === i);
  if (usable.length === 0) {
    throw new HangarError(
      ErrorCode.BackendUnavailable,
      `The module "${module}" runs on ${supports.join(', ')}, none of which was requested (${requested.join(', ') || 'nothing'}).`,
      { module, requested: [...requested], supported: [...supports] },
    );
  }
  return usable;
}

function unavailable(tried: Tried): HangarError {
  return new HangarError(
    ErrorCode.BackendUnavailable,
    `No backend could start here: ${tried.map((t) => `${t.backend} (${t.error})`).join('; ')}.`,
    { tried },
  );
}

const TFJS_BACKENDS: Record<Backend, () => Promise<unknown>> = {
  webgpu: () => import('@tensorflow/tfjs-backend-webgpu'),
  webgl: () => import('@tensorflow/tfjs-backend-webgl'),
  cpu: () => import('@tensorflow/tfjs-backend-cpu'),
  wasm: async () => {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    // Must precede the backend's initialization, and may run only once before it.
    wasm.setWasmPaths({
      'tfjs-backend-wasm.wasm': tfjsWasm,
      'tfjs-backend-wasm-simd.wasm': tfjsWasmSimd,
      'tfjs-backend-wasm-threaded-simd.wasm': tfjsWasmThreadedSimd,
    });
  },
};

/** Backend code loaded (once per worker), and backends that failed to start (not tried again). */
const tfjsLoaded = new Map<Backend, Promise<unknown>>();
const tfjsFailed = new Map<Backend, string>();

/**
 * Makes the first of `backends` that starts tfjs's active backend, and answers which. A backend
 * that fails (WebGPU without an adapter, WebGL without a context) is skipped and remembered;
 * none starting is `backend-unavailable` with each one's reason.
 */
export async function useTfjsBackend(backends: readonly Backend[]): Promise<Backend> {
  const tf = await import('@tensorflow/tfjs-core');
  const tried: Tried = [];
  for (const backend of backends) {
    const failed = tfjsFailed.get(backend);
    if (failed !== undefined) {
      tried.push({ backend, error: failed });
      continue;
    }
    try {
      // Asked first, so tfjs does not log a failed initialization (with its stack) where there is no GPU.
      if (backend === 'webgpu' && !(await hasWebGpuAdapter())) throw new Error('no WebGPU adapter');
      if (!tfjsLoaded.has(backend)) tfjsLoaded.set(backend, TFJS_BACKENDS[backend]());
      await tfjsLoaded.get(backend);
      // Cheap once the backend is up. False when its factory fails; throws when it never
      // registered (the WebGPU backend registers only where `navigator.gpu` exists).
      if (!(await tf.setBackend(backend))) throw new Error('it failed to initialize');
      await tf.ready();
      return backend;
    } catch (err) {
      tfjsFailed.set(backend, message(err));
      tried.push({ backend, error: message(err) });
    }
  }
  throw unavailable(tried);
}

let ortModule: Promise<typeof Ort> | undefined;

/** ONNX Runtime Web, configured for this page once: wasm from our origin, threads only when allowed. */
export function loadOrt(): Promise<typeof Ort> {
  return (ortModule ??= import('onnxruntime-web').then((ort) => {
    // The default build (WebGPU through JSEP, and plain wasm) loads this one .wasm file.
    ort.env.wasm.wasmPaths = { wasm: ortWasm };
    // Threads need SharedArrayBuffer, which only a cross-origin isolated page has.
    ort.env.wasm.numThreads = globalThis.crossOriginIsolated ? Math.min(4, navigator.hardwareConcurrency || 1) : 1;
    ort.env.logLevel = 'error';
    return ort;
  }));
}

async function hasWebGpuAdapter(): Promise<boolean> {
  const gpu = (navigator as Navigator & { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
  if (!gpu) return false;
  return (await gpu.requestAdapter().catch(() => null)) != null;
}

/**
 * Opens an ONNX Runtime session for `model` on the first of `backends` that works. A file ONNX
 * Runtime cannot read is `invalid-model-file` at once (another backend would not read it either).
 */
export async function createOrtSession(
  model: Uint8Array,
  backends: readonly Backend[],
): Promise<{ session: Ort.InferenceSession; backend: Backend; ort: typeof Ort }> {
  const ort = await loadOrt();
  const tried: Tried = [];
  for (const backend of backends) {
    if (backend === 'webgpu' && !(await hasWebGpuAdapter())) {
      tried.push({ backend, error: 'no WebGPU adapter' });
      continue;
    }
    try {
      const session = await ort.InferenceSession.create(model, { executionProviders: [backend] });
      return { session, backend, ort };
    } catch (err) {
      // ORT says "no available backend found" when the runtime itself could not start (its
      // wasm did not load, the execution provider is missing); anything else is about the model.
      if (!/no available backend/i.test(message(err))) {
        throw new HangarError(ErrorCode.InvalidModelFile, `ONNX Runtime cannot load this model: ${message(err)}`, {
          reason: message(err),
        });
      }
      tried.push({ backend, error: message(err) });
    }
  }
  throw unavailable(tried);
}
