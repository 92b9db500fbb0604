import { Hono } from 'hono';
import { ErrorCode, HangarError } from '../../shared/errors.ts';
import { LIMITS } from '../../shared/limits.ts';
import { logMetricsSchema, metricHistoryQuerySchema } from '../../shared/metrics.ts';
import { keySchema } from '../../shared/names.ts';
import { serverHlc } from '../clock.ts';
import { downsampledHistory, metricHistoryPage, metricSummaries } from '../db/metrics.ts';
import { logMetrics } from '../domain/metrics.ts';
import type { AppEnv } from '../env.ts';
import { parseWith, readJsonBody, readQuery } from '../http.ts';
import type { RouteDoc } from '../openapi.ts';
import { resolveParent } from '../parent.ts';

/** `…/models/{model}/metrics` and `…/models/{model}/versions/{number}/metrics` */
export const metrics = new Hono<AppEnv>();

metrics.post('/', async function logMetricsRoute(c) {
  // Look the parent up while the body is read and validated; the lookup's error, if any,
  // surfaces at the await below (a no-op catch keeps it from being reported as unhandled
  // when validation throws first).
  const parent = resolveParent(c);
  parent.catch(() => {});
  const body = await readJsonBody(c);
  // Counted before the schema, so too many points is 413 payload-too-large and not 400.
  const raw = (body as { metrics?: unknown } | null)?.metrics;
  if (Array.isArray(raw) && raw.length > LIMITS.metricsPerRequest) {
    throw new HangarError(
      ErrorCode.PayloadTooLarge,
      `The request holds ${raw.length} metric points; the limit is ${LIMITS.metricsPerRequest}. Split it.`,
      { limit: LIMITS.metricsPerRequest, count: raw.length },
    );
  }
  const input = parseWith(logMetricsSchema, body, 'request body');
  const count = await logMetrics(c.env.DB, await parent, input.metrics, serverHlc());
  return c.json({ count }, 201);
});

metrics.get('/', async function metricSummariesRoute(c) {
  const parent = await resolveParent(c);
  return c.json({ metrics: await metricSummaries(c.env.DB, parent.id) });
});

// Keys may hold "/" (`train/loss`), sent as is or as %2F; Hono percent-decodes the param.
metrics.get('/:key{.+}', async function metricHistoryRoute(c) {
  const key = parseWith(keySchema, c.req.param('key'), 'metric key');
  const query = readQuery(c, metricHistoryQuerySchema);
  if (query.maxPoints !== undefined && (query.pageToken !== undefined || query.pageSize !== undefined)) {
    throw new HangarError(ErrorCode.InvalidArgument, 'Use maxPoints alone: a downsampled history comes whole, never in pages.', {
      maxPoints: query.maxPoints,
    });
  }
  const parent = await resolveParent(c);
  const history =
    query.maxPoints !== undefined
      ? await downsampledHistory(c.env.DB, parent.id, key, query.maxPoints, { from: query.from, to: query.to })
      : await metricHistoryPage(c.env.DB, parent.id, key, query);
  return c.json(history);
});

const docsFor = (base: string, on: string): RouteDoc[] => [
  { method: 'post', path: `${base}/metrics`, summary: `Log up to ${LIMITS.metricsPerRequest} metric points on a ${on}`, body: logMetricsSchema, role: 'write' },
  { method: 'get', path: `${base}/metrics`, summary: `Summary per metric key of a ${on}: last, min, max, count, lastStep`, role: 'read' },
  {
    method: 'get',
    path: `${base}/metrics/{key}`,
    summary: `History of one metric key of a ${on}, in pages or in maxPoints buckets (min, max, last; a power-of-two step width, edges at its multiples), within steps from..to`,
    query: metricHistoryQuerySchema,
    role: 'read',
  },
];

const model = '/namespaces/{ns}/models/{model}';
export const metricDocs: RouteDoc[] = [...docsFor(model, 'model'), ...docsFor(`${model}/versions/{number}`, 'version')];
