import type * as Ort from 'onnxruntime-web';
import tfjsWasm from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import tfjsWasmSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import tfjsWasmThreadedSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import ortWasm from 'onnxruntime-web/ort-wasm-simd-threaded.jsep.wasm?url';
import { ErrorCode, HangarError } from '../../../shared/errors.ts';
import type { Backend, SkippedBackend, TfjsMemory } from '../protocol.ts';

// The libraries are imported only when a backend is first asked for, so a worker that runs ONNX
// never loads tfjs and the reverse. The .wasm files come from `?url` imports: served by Vite (and
// emitted with the build), so they load from our own origin, offline too — left alone, tfjs looks
// next to its (pre-bundled) script and ONNX Runtime next to its own, where they are not.

/** Why a backend could not be used, per backend tried. */
type Tried = SkippedBackend[];

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

/** Backend code loaded (once per worker), backends that started, and those that failed to (not tried again). */
const tfjsLoaded = new Map<Backend, Promise<unknown>>();
const tfjsStarted = new Set<Backend>();
const tfjsFailed = new Map<Backend, string>();

/** The end of the last task queued by `tfjsTask`. */
let tfjsTurn: Promise<unknown> = Promise.resolve();

/**
 * Runs `work` once every tfjs task queued before it has ended, and answers what it answers.
 * tfjs has one active backend per worker (`tf.setBackend` is global), and loading, training and
 * predicting all await midway: side by side, one model's work could go on on another's backend
 * (a model's weights made on the wrong one, a graph model's later ops run there). Every use of a
 * tfjs model (load, train, predict) goes through here. `work` must not wait for another task
 * queued here: it would wait for itself.
 */
export function tfjsTask<T>(work: () => Promise<T>): Promise<T> {
  const run = tfjsTurn.then(work);
  tfjsTurn = run.catch(() => undefined);
  return run;
}

/**
 * `tf.setBackend`, saying why a backend failed: tfjs answers only `false` and logs the reason
 * (`Initialization of backend wasm failed`, then the error) with console.warn, so what it logs
 * meanwhile is kept (and still logged). Runs inside a `tfjsTask`: nothing else logs from tfjs then.
 */
async function setTfjsBackend(tf: typeof import('@tensorflow/tfjs-core'), backend: Backend): Promise<void> {
  const said: string[] = [];
  const warn = console.warn;
  console.warn = function keepTfjsWarning(...args: unknown[]) {
    said.push(args.map((a) => (a instanceof Error ? a.message : String(a))).join(' '));
    warn.apply(console, args);
  };
  let started: boolean;
  try {
    started = await tf.setBackend(backend);
  } finally {
    console.warn = warn;
  }
  if (started && tf.getBackend() === backend) return;
  // The first line of what tfjs logged after its own "Initialization of backend … failed".
  const reason = said
    .filter((line) => !/^Initialization of backend/.test(line))
    .map((line) => line.split('\n')[0]!.trim())
    .find((line) => line !== '');
  throw new Error(reason ? `it failed to initialize: ${reason}` : 'it failed to initialize');
}

/**
 * Makes the first of `backends` that starts tfjs's active backend, and answers which, with the
 * ones before it that did not start and why. A backend that fails (WebGPU without an adapter,
 * WebGL without a context, wasm whose binary does not load) is skipped and remembered; none
 * starting is `backend-unavailable` with each one's reason. Call it inside a `tfjsTask`.
 */
export async function useTfjsBackend(backends: readonly Backend[]): Promise<{ backend: Backend; skipped: SkippedBackend[] }> {
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
      // Cheap once the backend is up. Throws when its factory fails, or when it never
      // registered (the WebGPU backend registers only where `navigator.gpu` exists).
      await setTfjsBackend(tf, backend);
      await tf.ready();
      tfjsStarted.add(backend);
      return { backend, skipped: tried };
    } catch (err) {
      tfjsFailed.set(backend, message(err));
      tried.push({ backend, error: message(err) });
    }
  }
  throw unavailable(tried);
}

/**
 * Makes `backend` (started by `useTfjsBackend` when the model loaded) tfjs's active backend
 * again, since another model may have switched it. Call it inside a `tfjsTask`.
 */
export async function switchTfjsBackend(backend: Backend): Promise<void> {
  const tf = await import('@tensorflow/tfjs-core');
  if (tf.getBackend() === backend) return;
  try {
    await setTfjsBackend(tf, backend);
  } catch (err) {
    throw new HangarError(ErrorCode.BackendUnavailable, `The model's backend (${backend}) no longer starts: ${message(err)}.`, {
      tried: [{ backend, error: message(err) }],
    });
  }
}

/** tfjs's memory here (see `PredictorWorkerDebugApi.memory`); null when no tfjs backend has started. */
export async function tfjsMemory(): Promise<TfjsMemory | null> {
  if (tfjsStarted.size === 0) return null;
  const tf = await import('@tensorflow/tfjs-core');
  const { numTensors, numBytes } = tf.memory();
  const backends = Object.fromEntries([...tfjsStarted].map((b) => [b, tf.findBackend(b)?.numDataIds() ?? 0]));
  return { numTensors, numBytes, backends };
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
 * Opens an ONNX Runtime session for `model` on the first of `backends` that works (answering the
 * ones before it that did not, and why). A file ONNX
 * Runtime cannot read is `invalid-model-file` at once (another backend would not read it either).
 */
export async function createOrtSession(
  model: Uint8Array,
  backends: readonly Backend[],
): Promise<{ session: Ort.InferenceSession; backend: Backend; skipped: SkippedBackend[]; ort: typeof Ort }> {
  const ort = await loadOrt();
  const tried: Tried = [];
  for (const backend of backends) {
    if (backend === 'webgpu' && !(await hasWebGpuAdapter())) {
      tried.push({ backend, error: 'no WebGPU adapter' });
      continue;
    }
    try {
      const session = await ort.InferenceSession.create(model, { executionProviders: [backend] });
      return { session, backend, skipped: tried, ort };
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
