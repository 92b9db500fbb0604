import { ErrorCode, HangarError } from '../../shared/errors.ts';

/**
 * What a worker throws back through Comlink: a HangarError stays as it is; anything else (a tfjs
 * or ONNX Runtime error, a bug) becomes `internal`, saying what failed (`doing`: "Training",
 * "Prediction", "Loading tabular-classifier") and keeping the original message in `details.cause`.
 */
export function asHangarError(err: unknown, doing: string): HangarError {
  if (err instanceof HangarError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new HangarError(ErrorCode.Internal, `${doing} failed: ${message}`, { cause: message });
}
