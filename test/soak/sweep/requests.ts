import fc from 'fast-check';
import { MUTATION_NAMES, PROTOCOL_HEADER } from '../../../shared/sync.ts';
import type { RouteDoc } from '../../../worker/openapi.ts';
import { ADMIN, type Fixtures } from './fixtures.ts';

/** One generated request; `body` is text or bytes, sent as is. */
export interface SweepRequest {
  method: string;
  path: string;
  query: string;
  headers: Record<string, string>;
  body?: string | Uint8Array<ArrayBuffer>;
}

const SEGMENTS = [
  '', '.', '..', '%2e%2e', '%2F', '..%2F..%2Ftokens', '%00', '%ff', '%', '%%', '%zz', '-x', 'UPPER', 'a b', 'ü', '\u202e',
  '%F0%9F%98%80', 'null', 'undefined', '__proto__', 'constructor', '-1', '0', '1.5', '1e3', '99999999999999999999', 'NaN', 'v1',
  'default', '*', "' OR 1=1 --", 'a\\b', '~', 'ab'.repeat(32), 'a/../../b', '%252e%252e',
];
const longText = fc.constantFrom(129, 300, 1025, 5000, 20000).map((n) => 'a'.repeat(n));
const segment = fc.oneof(
  { weight: 5, arbitrary: fc.constantFrom(...SEGMENTS) },
  { weight: 3, arbitrary: fc.string({ maxLength: 40 }).map(encodeURIComponent) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 20 }).map(encodeURIComponent) },
  { weight: 1, arbitrary: longText },
);

/** Values that are wrong for almost any field. */
const garbage: fc.Arbitrary<unknown> = fc.oneof(
  fc.string({ maxLength: 30 }),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.constantFrom(-1, 0, 2 ** 53, 1e308, -0, 0.5, '', ' ', '0', 'true', 'null', [], {}, [[]], { a: 1 }),
  fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 4 }),
  fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 }),
  longText,
);

const hex64 = fc.stringMatching(/^[0-9a-f]{64}$/);
const hlc = fc.oneof(
  fc.constantFrom('999999999999999-999999-x', '999999999999999-9999999-x', '000000000000000-000000-a', '', 'x'),
  fc.integer({ min: -2 * 86_400_000, max: 2 * 86_400_000 }).map((d) => `${String(Date.now() + d).padStart(15, '0')}-000000-sweep`),
);
/** Ids of real entities (set from the fixtures), so generated mutations touch what exists. */
export const realIds: string[] = [];
const anId = fc.oneof(fc.constantFrom(...[0, 1, 2, 3].map((i) => () => realIds[i] ?? '')).map((f) => f()), fc.uuid(), garbage);
const argValue = fc.oneof({ weight: 3, arbitrary: anId }, { weight: 2, arbitrary: garbage }, { weight: 1, arbitrary: fc.dictionary(fc.constantFrom('description', 'task', 'owner', 'version', 'name'), garbage, { maxKeys: 2 }) });
const mutation = fc.record(
  {
    seq: fc.oneof({ weight: 5, arbitrary: fc.integer({ min: 1, max: 20 }) }, { weight: 1, arbitrary: garbage }),
    name: fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...MUTATION_NAMES) }, { weight: 1, arbitrary: garbage }),
    args: fc.oneof(garbage, fc.dictionary(fc.constantFrom('id', 'modelId', 'parentId', 'fields', 'key', 'value', 'points', 'alias', 'versionId', 'expectedVersionId', 'path', 'status', 'files', 'handle'), argValue)),
    hlc,
  },
  { requiredKeys: ['seq', 'name', 'args', 'hlc'] },
);

/** Near-valid values by field name, so that generated bodies get past the first check often. */
const PLAUSIBLE: Record<string, fc.Arbitrary<unknown>> = {
  name: fc.constantFrom('m2', 'x', 'a.b-c', 'sweep token'),
  namespace: fc.constantFrom('sweep', 'elsewhere', '*'),
  role: fc.constantFrom('read', 'write', 'admin', 'root'),
  version: fc.oneof(fc.constantFrom('gold', 'v2'), fc.integer({ min: 0, max: 5 })),
  expected: fc.oneof(fc.constant(null), fc.integer({ min: 0, max: 5 })),
  task: fc.constantFrom('tabular', null),
  description: fc.oneof(fc.constant('d'), longText),
  metadata: fc.dictionary(fc.string({ maxLength: 6 }), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 3 }),
  metrics: fc.array(fc.record({ key: fc.oneof(fc.constant('loss'), garbage), value: fc.oneof(fc.double(), garbage), step: fc.oneof(fc.nat(), garbage) }, { requiredKeys: [] }), { maxLength: 3 }),
  path: fc.oneof(fc.constantFrom('a.bin', '../x', '/abs', 'a\\b', 'ok/fine.txt'), longText),
  sha256: fc.oneof(hex64, fc.constant('ab'.repeat(32))),
  size: fc.oneof(fc.nat(1000), fc.constantFrom(-1, 2 ** 53, 1e20)),
  url: fc.constantFrom('https://example.com/x', 'javascript:alert(1)', 'ftp://x', 'http://127.0.0.1/'),
  files: fc.array(fc.record({ path: fc.constantFrom('a.bin', '..'), size: fc.nat(100), sha256: hex64 }, { requiredKeys: [] }), { maxLength: 3 }),
  clientId: fc.oneof({ weight: 4, arbitrary: fc.uuid() }, { weight: 1, arbitrary: fc.string({ maxLength: 10 }) }),
  afterSeq: fc.oneof({ weight: 4, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: garbage }),
  mutations: fc.array(mutation, { maxLength: 4 }),
  status: fc.constantFrom('ready', 'failed', 'pending', 'done'),
  origins: fc.array(fc.constantFrom('https://a.example', 'null', '*', 'nope'), { maxLength: 3 }),
  expiresAt: fc.oneof(fc.integer(), fc.constant(9e15)),
  uniqueTags: fc.array(fc.constantFrom('prod', 'v1', 'x y'), { maxLength: 3 }),
};

const shapeKeys = (schema: unknown): string[] => {
  const s = schema as { shape?: Record<string, unknown>; def?: { in?: unknown; schema?: unknown } };
  return s?.shape ? Object.keys(s.shape) : [];
};

/** Bodies: objects of the route's fields with wrong or near-valid values, invalid JSON, deep, huge. */
function bodyFor(doc: RouteDoc): fc.Arbitrary<string | Uint8Array<ArrayBuffer>> {
  const keys = [...new Set([...shapeKeys(doc.body), ...(doc.path.endsWith('/push') ? ['clientId', 'afterSeq', 'mutations'] : [])])];
  const fields = Object.fromEntries(keys.map((k) => [k, PLAUSIBLE[k] ? fc.oneof({ weight: 3, arbitrary: PLAUSIBLE[k]! }, { weight: 2, arbitrary: garbage }) : garbage]));
  const object = fc
    .tuple(fc.record(fields, { requiredKeys: [] }), fc.dictionary(fc.string({ maxLength: 10 }), garbage, { maxKeys: 2 }))
    .map(([known, extra]) => JSON.stringify({ ...extra, ...known }));
  const invalid = fc.constantFrom('{', '{"a":', '[', '}', "{'a':1}", '\ufeff{}', '{"__proto__":{"x":1}}', '1e999', 'NaN', '\u0000', '{"a":1}{"b":2}', '"\\ud800"');
  const deep = fc.constantFrom(65, 1001, 10_000, 100_000).chain((n) =>
    fc.constantFrom(`${'['.repeat(n)}${']'.repeat(n)}`, `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`, `{"metadata":{"k":${'['.repeat(n)}${']'.repeat(n)}}}`),
  );
  const huge = fc.constantFrom(1024 * 1024 + 1, 2_000_000).map((n) => JSON.stringify({ description: 'x'.repeat(n) }));
  const bytes = fc.oneof(fc.uint8Array({ maxLength: 2000 }), fc.constantFrom(0, 1, 65_536, 300_000).map((n) => new Uint8Array(n).fill(7))).map((b) => new Uint8Array(b));
  return fc.oneof(
    { weight: doc.rawBody ? 10 : 60, arbitrary: object },
    { weight: 15, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)) },
    { weight: 10, arbitrary: invalid },
    { weight: 5, arbitrary: deep },
    { weight: 5, arbitrary: fc.string({ maxLength: 200 }) },
    { weight: doc.rawBody ? 50 : 5, arbitrary: bytes },
    { weight: 1, arbitrary: huge.map((h) => h) },
  );
}

const QUERY_KEYS = ['pageSize', 'pageToken', 'filter', 'orderBy', 'cursor', 'clientId', 'limit', 'maxPoints', 'from', 'to', 'namespace'];
const queryValue = fc.oneof(
  fc.constantFrom('1', '0', '-1', '1000', '1001', '1e3', 'NaN', '', '%', '%zz', 'true', "name LIKE 'a%'", '((((((((((', 'name = ', 'tags.k = 1 AND', 'number DESC', 'x ASC'),
  fc.string({ maxLength: 30 }).map(encodeURIComponent),
  fc.uuid(),
  fc.constantFrom(100, 2001, 20000).map((n) => '('.repeat(n)),
  longText,
);
const query = fc.array(fc.tuple(fc.constantFrom(...QUERY_KEYS), queryValue), { maxLength: 4 }).map((pairs) => pairs.map(([k, v]) => `${k}=${v}`).join('&'));

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'];

/** Which real value a path parameter of this route takes. */
function fixtureValue(doc: RouteDoc, name: string, fx: Fixtures): string {
  if (name === 'key') return doc.path.includes('/metadata/') ? 'k' : 'loss';
  if (name === 'id') return doc.path.startsWith('/tokens') ? fx.params.tokenId! : fx.params.id!;
  return fx.params[name] ?? 'x';
}

/** Malformed requests for one route: a mix of bad path segments, query strings, headers, bodies and methods. */
export function requestsFor(doc: RouteDoc, fx: Fixtures): fc.Arbitrary<SweepRequest> {
  const names = [...doc.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!);
  const real = names.map((n) => encodeURIComponent(fixtureValue(doc, n, fx)));
  // Half the requests name real things, so that what is malformed elsewhere reaches deep; the
  // rest spoil one segment, or several.
  const params = fc.oneof(
    { weight: 5, arbitrary: fc.constant(real) },
    { weight: 4, arbitrary: fc.tuple(fc.nat(Math.max(0, names.length - 1)), segment).map(([i, bad]) => real.map((v, j) => (j === i ? bad : v))) },
    { weight: 1, arbitrary: fc.tuple(...names.map(() => segment)) },
  );
  const auth = fc.oneof(
    { weight: 16, arbitrary: fc.constantFrom(`Bearer ${ADMIN}`, `Bearer ${fx.tokens.write}`) },
    { weight: 1, arbitrary: fc.constant(`Bearer ${fx.tokens.read}`) },
    { weight: 1, arbitrary: fc.constant(`Bearer ${fx.tokens.other}`) },
    { weight: 1, arbitrary: fc.constant(undefined) },
    { weight: 2, arbitrary: fc.constantFrom('Bearer', 'Bearer ', 'bearer hgr_x', 'Basic YTpi', `Bearer ${'x'.repeat(10000)}`, `Bearer ${ADMIN}x`, `Bearer  ${ADMIN}`, 'Bearer hgr_') },
    { weight: 1, arbitrary: fc.string({ unit: 'grapheme-ascii', maxLength: 60 }).map((s) => `Bearer ${s}`) },
  );
  const protocol = fc.oneof({ weight: 3, arbitrary: fc.constantFrom('2', '3') }, { weight: 2, arbitrary: fc.constantFrom(undefined, '1', '4', '0', 'abc', '-1', '1e3', ' 2 ', '2.5', '99999999999999999999') });
  const contentType = fc.constantFrom(undefined, 'application/json', 'application/json', 'text/plain', 'application/json; charset=utf-16', 'multipart/form-data; boundary=x', 'application/x-www-form-urlencoded', 'application/octet-stream', '*/*', ';;;');
  const extra = fc.dictionary(
    fc.constantFrom('range', 'origin', 'content-encoding', 'x-http-method-override', 'if-none-match', 'accept'),
    fc.constantFrom('bytes=0-1', 'bytes=5-2', 'bytes=-0', 'bytes=0-99999999999999999999', 'bytes=a-b', 'gzip', 'https://evil.example', 'null', 'DELETE', '*', ''),
    { maxKeys: 2 },
  );
  const mayHaveBody = (m: string) => m !== 'GET' && m !== 'HEAD';
  return fc
    .record({
      method: fc.oneof({ weight: 9, arbitrary: fc.constant(doc.method.toUpperCase()) }, { weight: 1, arbitrary: fc.constantFrom(...METHODS) }),
      params,
      tail: fc.oneof({ weight: 9, arbitrary: fc.constant('') }, { weight: 1, arbitrary: fc.constantFrom('/', '/extra', '//', '/..', '?') }),
      query: fc.oneof({ weight: 1, arbitrary: fc.constant('') }, { weight: 1, arbitrary: query }),
      auth,
      protocol,
      contentType,
      extra,
      body: fc.option(bodyFor(doc), { freq: 6 }),
    })
    .map((r) => {
      let i = 0;
      const path = doc.path.replace(/\{\w+\}/g, () => r.params[i++] as string) + r.tail;
      const headers: Record<string, string> = { ...r.extra };
      if (r.auth !== undefined) headers.authorization = r.auth;
      if (r.protocol !== undefined) headers[PROTOCOL_HEADER] = r.protocol;
      if (r.contentType !== undefined) headers['content-type'] = r.contentType;
      const body = mayHaveBody(r.method) && r.body !== null ? r.body : undefined;
      return { method: r.method, path, query: r.query, headers, ...(body !== undefined ? { body } : {}) };
    });
}

/** A short, printable description of a request, to reproduce it. */
export function describe(req: SweepRequest): string {
  const body = req.body === undefined ? '' : typeof req.body === 'string' ? ` body(${req.body.length})=${JSON.stringify(req.body.slice(0, 300))}` : ` bytes(${req.body.byteLength})`;
  const headers = Object.entries(req.headers)
    .map(([k, v]) => `${k}: ${v.length > 80 ? `${v.slice(0, 80)}…(${v.length})` : v}`)
    .join(' | ');
  const url = `${req.path}${req.query ? `?${req.query}` : ''}`;
  return `${req.method} ${url.length > 300 ? `${url.slice(0, 300)}…(${url.length})` : url} [${headers}]${body}`;
}
