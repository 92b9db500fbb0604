-- Metric points stored as segments (DESIGN §3b, docs/SCALING.md).
--
-- One row per (parent, key) holds the key's summary, kept current in the same batch as every
-- write: count, min, max, the last point (greatest step, then wallclock, then id) and the step
-- range. Points live in segments of up to 1,000 points of one series, packed as columns in a
-- BLOB (worker/db/segment-codec.ts), with each segment's step and id ranges and its own
-- min, max and last beside it, so a range read skips the segments outside the range and a
-- retried write finds the ids it already stored without an index entry per point.
CREATE TABLE metric_series (
  id INTEGER PRIMARY KEY,
  namespace TEXT NOT NULL,
  parent_id TEXT NOT NULL,
  key TEXT NOT NULL,
  count INTEGER NOT NULL,
  min REAL NOT NULL,
  max REAL NOT NULL,
  last REAL NOT NULL,
  first_step INTEGER NOT NULL,
  last_step INTEGER NOT NULL,
  last_wallclock INTEGER NOT NULL,
  last_id TEXT NOT NULL,
  UNIQUE (parent_id, key)
);

-- `id_max` names a segment (points are unique by id, so no two segments share their greatest
-- id): the change log refers to segments by (parent, key, id_max). The data column is last,
-- so reading the ranges never reads a segment's overflow pages.
CREATE TABLE metric_segments (
  id INTEGER PRIMARY KEY,
  series INTEGER NOT NULL,
  id_max TEXT NOT NULL,
  id_min TEXT NOT NULL,
  step_min INTEGER NOT NULL,
  step_max INTEGER NOT NULL,
  n INTEGER NOT NULL,
  min REAL NOT NULL,
  max REAL NOT NULL,
  last REAL NOT NULL,
  last_wallclock INTEGER NOT NULL,
  data BLOB NOT NULL
);
CREATE UNIQUE INDEX metric_segments_ids ON metric_segments (series, id_max);
CREATE INDEX metric_segments_steps ON metric_segments (series, step_min);

-- Every existing point carried over: the summaries first, then segments of up to 1,000
-- points in (step, wallclock, id) order. SQL cannot pack a float, so these segments hold JSON
-- text, each value printed with 17 significant digits (printf's '%!.17g': without the '!' SQLite stops at 16, which is not exact); the Worker reads
-- both forms, and writes only packed ones.
INSERT INTO metric_series (namespace, parent_id, key, count, min, max, last, first_step, last_step, last_wallclock, last_id)
SELECT l.namespace, l.parent_id, l.key, a.n, a.mn, a.mx, l.value, a.first_step, l.step, l.wallclock, l.id
FROM (SELECT namespace, parent_id, key, value, step, wallclock, id,
        ROW_NUMBER() OVER (PARTITION BY parent_id, key ORDER BY step DESC, wallclock DESC, id DESC) AS r
      FROM metrics) l
JOIN (SELECT parent_id, key, COUNT(*) AS n, MIN(value) AS mn, MAX(value) AS mx, MIN(step) AS first_step
      FROM metrics GROUP BY parent_id, key) a ON a.parent_id = l.parent_id AND a.key = l.key
WHERE l.r = 1;

INSERT INTO metric_segments (series, id_max, id_min, step_min, step_max, n, min, max, last, last_wallclock, data)
SELECT s.id, MAX(c.id), MIN(c.id), MIN(c.step), MAX(c.step), COUNT(*), MIN(c.value), MAX(c.value),
  MAX(c.last_value), MAX(c.last_wallclock),
  '[' || group_concat(json_array(c.id, c.step, c.wallclock, printf('%!.17g', c.value)), ',') || ']'
FROM (SELECT b.*,
        LAST_VALUE(b.value) OVER w AS last_value,
        LAST_VALUE(b.wallclock) OVER w AS last_wallclock
      FROM (SELECT parent_id, key, id, value, step, wallclock,
              (ROW_NUMBER() OVER (PARTITION BY parent_id, key ORDER BY step, wallclock, id) - 1) / 1000 AS chunk,
              ROW_NUMBER() OVER (PARTITION BY parent_id, key ORDER BY step, wallclock, id) AS rn
            FROM metrics) b
      WINDOW w AS (PARTITION BY b.parent_id, b.key, b.chunk ORDER BY b.rn ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)) c
JOIN metric_series s ON s.parent_id = c.parent_id AND s.key = c.key
GROUP BY c.parent_id, c.key, c.chunk;

DROP INDEX metrics_series;
DROP TABLE metrics;
