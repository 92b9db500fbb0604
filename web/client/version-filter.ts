import { evaluateFilter, parseFilter, type FilterNode } from '../../shared/filter.ts';
import { VERSION_FILTER_FIELDS } from '../../shared/versions.ts';
import type { ClientContext } from './context.ts';
import type { VersionRecord } from './db.ts';
import { paramsOf } from './params.ts';
import { liveMetadata, metricSummary } from './parent.ts';

/** What a parsed filter reads besides plain fields, so each record loads only that. */
export function filterNeeds(filter: FilterNode): { tags: boolean; metrics: boolean; params: boolean } {
  const text = JSON.stringify(filter);
  return { tags: text.includes('"kind":"tag"'), metrics: text.includes('"kind":"metric"'), params: text.includes('"kind":"param"') };
}

/**
 * Versions (an experiment's runs) that match a filter in the API's language, evaluated by the
 * one shared evaluator (shared/filter.ts) as the server's SQL does: plain fields, `tags.x`
 * (metadata), `metrics.x` (the last logged value) and `params.x` (numeric against a number
 * when the param's whole value is a decimal number).
 */
export async function filterVersions(ctx: ClientContext, rows: VersionRecord[], text: string): Promise<VersionRecord[]> {
  const filter = parseFilter(text, VERSION_FILTER_FIELDS);
  if (!filter) return rows;
  const needs = filterNeeds(filter);
  const kept: VersionRecord[] = [];
  for (const row of rows) {
    const tags = needs.tags ? await liveMetadata(ctx.db, row.id) : {};
    const metrics = needs.metrics ? Object.fromEntries(Object.entries(await metricSummary(ctx, row.id)).map(([k, s]) => [k, s.last])) : {};
    const params = needs.params ? await paramsOf(ctx.db, row.id) : {};
    const fields = {
      number: row.number,
      version: row.version,
      name: row.name,
      description: row.description,
      framework: row.framework,
      status: row.status,
      created_at: row.createdAt,
      updated_at: row.updatedAt,
    };
    if (evaluateFilter(filter, { fields, tags, metrics, params })) kept.push(row);
  }
  return kept;
}
