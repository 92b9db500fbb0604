import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

// web/jobs (the workers) sits below web/client (the library): the library imports the workers'
// protocol, so the workers import nothing from the library. What both use lives in web/common.

const jobs = resolve(import.meta.dirname);
const client = resolve(jobs, '../client');

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return path.endsWith('.ts') && !path.endsWith('.test.ts') ? [path] : [];
  });
}

/** Relative specifiers of a file's imports, `import()` calls and `new URL(…)` worker entries. */
function specifiers(text: string): string[] {
  const found: string[] = [];
  for (const m of text.matchAll(/(?:from|import|new URL\()\s*\(?\s*['"](\.{1,2}\/[^'"]+)['"]/g)) found.push(m[1]!);
  return found;
}

describe('web/jobs layering', () => {
  it('no file under web/jobs imports anything under web/client', () => {
    const offending: string[] = [];
    for (const file of sources(jobs)) {
      for (const spec of specifiers(readFileSync(file, 'utf8'))) {
        const target = resolve(file, '..', spec);
        if (!relative(client, target).startsWith('..')) offending.push(`${relative(jobs, file)} → ${spec}`);
      }
    }
    expect(offending).toEqual([]);
  });

  it('the check sees an import of web/client when there is one', () => {
    const file = join(jobs, 'train.worker.ts');
    const spec = specifiers(`import '../client/hashing.ts';\nimport { x } from "./csv.ts";`);
    expect(spec).toEqual(['../client/hashing.ts', './csv.ts']);
    expect(relative(client, resolve(file, '..', spec[0]!)).startsWith('..')).toBe(false);
  });
});
