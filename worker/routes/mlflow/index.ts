import { Hono } from 'hono';
import { authenticateMlflow } from '../../auth.ts';
import type { AppEnv } from '../../env.ts';
import { notifyLive } from '../../live-notify.ts';
import { mlflowArtifacts } from './artifacts.ts';
import { mlflowMultipart, mlflowParts } from './multipart.ts';
import { MlflowError, handleMlflowError } from './errors.ts';
import { experiments } from './experiments.ts';
import { registry } from './registry.ts';
import { runs } from './runs.ts';

/**
 * The subset of MLflow's REST API that the unmodified MLflow client uses (DESIGN §4 "MLflow
 * clients"), mounted at `/mlflow/{ns}/api/2.0`, so `MLFLOW_TRACKING_URI=https://<host>/mlflow/<ns>`
 * writes into namespace `ns`. Errors use MLflow's envelope and codes.
 */
export const mlflow = new Hono<AppEnv>();
mlflow.use('*', authenticateMlflow);
mlflow.use('*', notifyLive);
mlflow.route('/mlflow/experiments', experiments);
mlflow.route('/mlflow', runs);
mlflow.route('/mlflow', registry);
mlflow.route('/mlflow-artifacts', mlflowArtifacts);
mlflow.route('/mlflow-artifacts', mlflowMultipart);
mlflow.all('*', function mlflowEndpointNotFound(c) {
  throw new MlflowError('ENDPOINT_NOT_FOUND', `No MLflow endpoint ${c.req.method} ${new URL(c.req.url).pathname} on this server.`);
});
mlflow.onError(handleMlflowError);

export { mlflowParts };
