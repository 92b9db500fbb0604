import type { VersionStatus } from './versions.ts';

/**
 * Runs (DESIGN §1 "Experiments and runs"): an experiment's versions. MLflow's run fields that
 * have no column of their own are kept as metadata keys under `hangar.mlflow.` (the same keys
 * worker/routes/mlflow/common.ts writes), never shown as tags.
 */
export const RUN_INTERNAL_PREFIX = 'hangar.mlflow.';
/** The MLflow status a run was given last (`KILLED` is a failed version that was killed). */
export const RUN_KEY_STATUS = `${RUN_INTERNAL_PREFIX}status`;
export const RUN_KEY_START_TIME = `${RUN_INTERNAL_PREFIX}start_time`;
export const RUN_KEY_END_TIME = `${RUN_INTERNAL_PREFIX}end_time`;

export type RunStatus = 'RUNNING' | 'SCHEDULED' | 'FINISHED' | 'FAILED' | 'KILLED';

/** A run's MLflow status from its version's: pending → RUNNING (or SCHEDULED), ready → FINISHED, failed → FAILED, or KILLED when it was killed. */
export function runStatusOf(status: VersionStatus, metadata: Record<string, unknown>): RunStatus {
  if (status === 'ready') return 'FINISHED';
  if (status === 'failed') return metadata[RUN_KEY_STATUS] === 'KILLED' ? 'KILLED' : 'FAILED';
  return metadata[RUN_KEY_STATUS] === 'SCHEDULED' ? 'SCHEDULED' : 'RUNNING';
}

/** Whether a metadata key is one of Hangar's own run fields rather than a user's tag. */
export const isInternalRunKey = (key: string) => key.startsWith(RUN_INTERNAL_PREFIX);
