-- The scheduled sweep merges a key's small metric segments (DESIGN §3b) once no change-log row
-- names its parent's points. These two partial indexes find both without reading whole tables:
-- small segments by series (500 is LIMITS.metricSegmentSmall), and the change log's metric rows by
-- parent.
CREATE INDEX metric_segments_small ON metric_segments (series) WHERE n <= 500;
CREATE INDEX change_log_metrics ON change_log (entity_id) WHERE entity = 'metrics';
