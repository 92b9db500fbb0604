import { Hono, type MiddlewareHandler } from 'hono';
import { authenticate, namespaceAccess } from './auth.ts';
import { cors } from './cors.ts';
import { checkRateLimit } from './rate-limit.ts';
import type { AppEnv } from './env.ts';
import { handleError, handleNotFound } from './errors.ts';
import { isUploadPart, notifyLive } from './live-notify.ts';
import { buildOpenApi, type RouteDoc } from './openapi.ts';
import { aliasDocs, aliases } from './routes/aliases.ts';
import { artifactDocs, artifacts } from './routes/artifacts.ts';
import { blobDocs, blobs } from './routes/blobs.ts';
import { eventDocs, events } from './routes/events.ts';
import { webhookDocs, webhooks } from './routes/webhooks.ts';
import { dispatchWebhookEvents } from './webhooks/dispatch.ts';
import { checkpointDocs, checkpoints } from './routes/checkpoints.ts';
import { metadata, metadataDocs } from './routes/metadata.ts';
import { metricDocs, metrics } from './routes/metrics.ts';
import { mlflow, mlflowParts } from './routes/mlflow/index.ts';
import { modelDocs, models } from './routes/models.ts';
import { namespaceDocs, namespaces } from './routes/namespaces.ts';
import { paramDocs, params } from './routes/params.ts';
import { syncDocs, sync } from './routes/sync.ts';
import { tokenDocs, tokens } from './routes/tokens.ts';
import { trash, trashDocs } from './routes/trash.ts';
import { usage, usageDocs } from './routes/usage.ts';
import { versionDocs, versions } from './routes/versions.ts';

export const API_VERSION = '1.0.0';

/**
 * After a write has answered, its events go to the namespace's webhooks: queued in the
 * background (`waitUntil`), so a slow or broken receiver never holds up or fails a write.
 */
const dispatchAfterWrites: MiddlewareHandler<AppEnv> = async function dispatchAfterWrites(c, next) {
  await next();
  if (c.req.method === 'GET' || c.req.method === 'HEAD' || c.res.status >= 400) return;
  // A part of an upload writes no change-log row, so it has no events to send.
  if (isUploadPart(c.req.path)) return;
  const ns = c.req.param('ns')!;
  c.executionCtx.waitUntil(
    dispatchWebhookEvents(c.env, ns).catch((err: unknown) => console.error('webhook dispatch failed', ns, err)),
  );
};

/** The public routes count against the client's address (DESIGN §4 rate limits). */
const limitByAddress: MiddlewareHandler<AppEnv> = async function limitByAddress(c, next) {
  await checkRateLimit(c, 'address');
  await next();
};

const api = new Hono<AppEnv>();
api.use('*', cors);
api.use('/health', limitByAddress);
api.use('/openapi.json', limitByAddress);
api.get('/health', function health(c) {
  return c.json({ status: 'ok', version: API_VERSION });
});
api.get('/openapi.json', function openApiDocument(c) {
  return c.json(openApi);
});
api.use('*', authenticate);
api.route('/tokens', tokens);
api.route('/namespaces', namespaces);
api.use('/namespaces/:ns/*', namespaceAccess);
api.use('/namespaces/:ns/*', dispatchAfterWrites);
api.use('/namespaces/:ns/*', notifyLive);
api.route('/namespaces/:ns/models', models);
api.route('/namespaces/:ns/models/:model/versions', versions);
api.route('/namespaces/:ns/models/:model/aliases', aliases);
api.route('/namespaces/:ns/models/:model/metrics', metrics);
api.route('/namespaces/:ns/models/:model/versions/:number/metrics', metrics);
api.route('/namespaces/:ns/models/:model/metadata', metadata);
api.route('/namespaces/:ns/models/:model/versions/:number/metadata', metadata);
api.route('/namespaces/:ns/models/:model/versions/:number/params', params);
api.route('/namespaces/:ns/blobs', blobs);
api.route('/namespaces/:ns/models/:model/artifacts', artifacts);
api.route('/namespaces/:ns/models/:model/versions/:number/artifacts', artifacts);
api.route('/namespaces/:ns/models/:model/versions/:number/checkpoints', checkpoints);
api.route('/namespaces/:ns/sync', sync);
api.route('/namespaces/:ns/events', events);
api.route('/namespaces/:ns/webhooks', webhooks);
api.route('/namespaces/:ns/trash', trash);
api.route('/namespaces/:ns/usage', usage);

/** Every route's documentation; a test checks it matches the routes registered above. */
export const routeDocs: RouteDoc[] = [
  { method: 'get', path: '/health', summary: 'Liveness', public: true },
  { method: 'get', path: '/openapi.json', summary: 'This document', public: true },
  ...tokenDocs,
  ...namespaceDocs,
  ...modelDocs,
  ...versionDocs,
  ...aliasDocs,
  ...metricDocs,
  ...metadataDocs,
  ...paramDocs,
  ...blobDocs,
  ...artifactDocs,
  ...checkpointDocs,
  ...syncDocs,
  ...eventDocs,
  ...webhookDocs,
  ...trashDocs,
  ...usageDocs,
];
const openApi = buildOpenApi(routeDocs, API_VERSION);

/** The whole Worker: the API under /api/v1, one error path. */
export const app = new Hono<AppEnv>();
app.route('/api/v1', api);
app.use('/mlflow/:ns/*', dispatchAfterWrites);
// Parts of MLflow multipart uploads come with no token (their URL is the credential): before the
// authenticated routes.
app.route('/mlflow/:ns/api/2.0/mlflow-artifacts/mpu/part', mlflowParts);
app.route('/mlflow/:ns/api/2.0', mlflow);
app.notFound(handleNotFound);
app.onError(handleError);
