/**
 * An UPDATE that applies each given field only if `hlc` is later than the clock that field
 * last saw (last writer wins per field), recording the new clocks in the `clocks` JSON
 * column. Column names come from our own constants, never from input.
 *
 * Ties: clocks carry their writer's node id, unique per device and per server isolate
 * (worker/clock.ts), so two writers never print the same clock; an equal clock is the same
 * write seen again (a retry, a replay), which the strict `<` leaves as it is. Clocks reach here
 * only within `LIMITS.maxClockDriftMs` of the server's time (sync refuses the rest), so no write
 * wins every later one by its clock alone.
 */
export function lwwUpdate(
  db: D1Database,
  table: 'models' | 'versions',
  fields: Record<string, string | null>,
  hlc: string,
  id: string,
): D1PreparedStatement {
  const names = Object.keys(fields);
  const wins = (col: string) => `COALESCE(json_extract(clocks, '$.${col}'), '') < ?`;
  const sets = names.map((col) => `${col} = CASE WHEN ${wins(col)} THEN ? ELSE ${col} END`);
  const clockArgs = names.map((col) => `'$.${col}', CASE WHEN ${wins(col)} THEN ? ELSE json_extract(clocks, '$.${col}') END`);
  const params: (string | number | null)[] = [];
  for (const col of names) params.push(hlc, fields[col] ?? null);
  for (const _ of names) params.push(hlc, hlc);
  const clocks = names.length ? `, clocks = json_set(clocks, ${clockArgs.join(', ')})` : '';
  const sql = `UPDATE ${table} SET ${[...sets, 'updated_at = ?'].join(', ')}${clocks} WHERE id = ?`;
  // updated_at's parameter sits between the field SETs and the clock arguments.
  const fieldParams = params.slice(0, names.length * 2);
  const clockParams = params.slice(names.length * 2);
  return db.prepare(sql).bind(...fieldParams, Date.now(), ...clockParams, id);
}
