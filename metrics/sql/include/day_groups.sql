-- The group and the bucket of a day rollup row, as the *_by_day.sql files
-- select them (the row queries do the same from each record's own time):
-- the service (a monorepo's path service, the catalog's, or the
-- repository as its own), the team ('unowned' without one), grp by
-- @group_by, and the bucket's first day by @bucket. A file names it as the
-- column list day_group_columns, which metrics.SQL replaces.
if(path_service != '', path_service, if(catalog_service != '', catalog_service, repo)) AS service,
if(catalog_team != '', catalog_team, 'unowned') AS team,
multiIf(@group_by = 'team', team, @group_by = 'organization', '', service) AS grp,
toYYYYMMDD(multiIf(
    @bucket = 'day', day,
    @bucket = 'week', toMonday(day),
    @bucket = 'month', toStartOfMonth(day),
    @bucket = 'quarter', toStartOfQuarter(day),
    toDate('1970-01-01'))) AS bucket
