-- Derivation per service (docs/metrics.md, "Services and teams").
--
-- incident_links.environment is the environment of the deployment an
-- incident is blamed on ('' when unlinked), so the environment filter
-- applies to incidents and time to restore. unresolved_reference is the
-- explicit reference an incident gave (a deployment id or a commit SHA)
-- that named no production deployment of its service.
ALTER TABLE incident_links ADD COLUMN environment String DEFAULT '';
ALTER TABLE incident_links ADD COLUMN unresolved_reference String DEFAULT '';

-- The service membership each repository was last derived with: the
-- aggregator compares it with the current catalog and re-derives the
-- services a catalog change concerns.
CREATE TABLE IF NOT EXISTS catalog_memberships (
    repo        String,
    membership  String,
    version     UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY repo;
