-- Links to the source: each fact keeps the page of its object in the tool
-- it came from (a pull request's or commit's html_url, an Actions run, a
-- deployment status's log, a GitLab pipeline or job, a release), '' when the
-- payload has none. The drill-downs join them to their rows
-- (docs/api.md). Plain ADD COLUMN runs on 18.16 and current releases; the
-- store ignores the duplicate-column error of a second run.
ALTER TABLE commits ADD COLUMN url String DEFAULT '';
ALTER TABLE pull_requests ADD COLUMN url String DEFAULT '';
ALTER TABLE deployments ADD COLUMN url String DEFAULT '';
ALTER TABLE deployment_statuses ADD COLUMN url String DEFAULT '';
ALTER TABLE pipeline_runs ADD COLUMN url String DEFAULT '';
ALTER TABLE releases ADD COLUMN url String DEFAULT '';
