-- The catalog's attribution, for the metric queries to look up instead of
-- carrying the whole catalog in their text (a catalog of thousands of
-- services overflows max_query_size).
--
-- One row is one version of the catalog: the repository → service and
-- service → team mappings as parallel arrays, sorted by their first array,
-- exactly what transform() takes. `version` is a hash of the content, so
-- every process holding the same catalog writes the same version and a
-- query that names a version reads one consistent catalog, whatever another
-- process writes meanwhile. Equal versions are equal content; readers take
-- any one row of a version (LIMIT 1). written_at is refreshed while a
-- process uses the version; versions unused for days are deleted.
--
-- An empty mapping is stored as the one-entry mapping '//' → '//' (service)
-- or '//' → 'unowned' (team): 18.16's transform refuses empty arrays, and
-- no repository or service is named '//'.

CREATE TABLE IF NOT EXISTS catalog_attribution (
    version     UInt64,
    repos       Array(String),
    services    Array(String),
    svc         Array(String),
    teams       Array(String),
    written_at  DateTime('UTC')
) ENGINE = ReplacingMergeTree(written_at)
ORDER BY version;
