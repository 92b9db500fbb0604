import { z } from 'zod';
import { ErrorCode } from '../shared/errors.ts';
import type { Role } from '../shared/tokens.ts';

/** What a route file says of each of its routes; the OpenAPI document is built from these. */
export interface RouteDoc {
  method: 'get' | 'head' | 'post' | 'put' | 'patch' | 'delete';
  /** Path under `/api/v1`, OpenAPI style (`/namespaces/{ns}/models/{model}`). */
  path: string;
  summary: string;
  /** The zod schema that validates the JSON body, if any. */
  body?: z.ZodType;
  /** The zod schema that validates the query string, if any. */
  query?: z.ZodObject;
  /** Raw bytes instead of JSON. */
  rawBody?: boolean;
  role?: Role;
  public?: boolean;
}

const jsonSchema = (schema: z.ZodType) => z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' });

/** The OpenAPI 3.1 document of the API, generated from the same zod schemas that validate requests. */
export function buildOpenApi(docs: RouteDoc[], version: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const doc of docs) {
    const parameters: unknown[] = [...doc.path.matchAll(/\{(\w+)\}/g)].map((m) => ({
      name: m[1],
      in: 'path',
      required: true,
      schema: { type: 'string' },
    }));
    if (doc.query) {
      for (const [name, field] of Object.entries(doc.query.shape)) {
        parameters.push({ name, in: 'query', required: !field.safeParse(undefined).success, schema: jsonSchema(field) });
      }
    }
    const operation: Record<string, unknown> = {
      summary: doc.summary,
      parameters,
      responses: {
        '2XX': { description: 'Success' },
        default: { description: 'Error', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
      },
      ...(doc.public ? { security: [] } : {}),
      ...(doc.role ? { 'x-hangar-role': doc.role } : {}),
    };
    if (doc.body) operation.requestBody = { required: true, content: { 'application/json': { schema: jsonSchema(doc.body) } } };
    if (doc.rawBody) {
      operation.requestBody = { required: true, content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } } };
    }
    (paths[doc.path] ??= {})[doc.method] = operation;
  }
  return {
    openapi: '3.1.0',
    info: { title: 'Hangar registry API', version },
    servers: [{ url: '/api/v1' }],
    security: [{ bearer: [] }],
    paths,
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'A Hangar token (hgr_…)' } },
      schemas: {
        Error: {
          type: 'object',
          required: ['error'],
          properties: {
            error: {
              type: 'object',
              required: ['code', 'message'],
              properties: {
                code: { type: 'string', enum: Object.values(ErrorCode) },
                message: { type: 'string' },
                details: { type: 'object' },
              },
            },
          },
        },
      },
    },
  };
}
