-- The catalog every metric query attributes with: one version of the
-- catalog_attribution table (schema/migrations), the one the query names in
-- @catalog, so that every query of one answer reads the same catalog.
-- Key "r:<repository>" gives the repository's service (empty: it is its own
-- service) and that service's team; key "s:<service>" gives a monorepo
-- service's team. A query joins it where it reads catalog_at_version:
--
--   ANY LEFT JOIN catalog_at_version AS catalog ON <key expression> = attribution_key
--
-- and metrics.SQL writes this subquery in that place.
SELECT key AS attribution_key, service AS catalog_service, team AS catalog_team
FROM catalog_attribution
WHERE version = @catalog
