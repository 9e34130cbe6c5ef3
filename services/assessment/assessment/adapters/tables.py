"""The assessment's read-model tables (the event store's come from the kit).

``facts`` and ``penalty_facts`` are history: append-only, each row with both clocks, so any
(as_of, known_at) view is a query over them. ``coverage`` is the live view (every unit, every
indicator, every period of the assessment years), kept incrementally. ``announced`` is what
CoverageChanged last said for each cell (``version``: in which version of the district's
``coverage-<district>`` stream); it is not part of the view and survives a rebuild, so a
rebuild announces nothing that did not change; ``dirty_cells`` are the cells changed since
the announcer last looked. ``live_years`` are the years ``coverage`` holds (see
``adapters/live_years``).
"""

DDL = """
CREATE TABLE IF NOT EXISTS {schema}.facts (
    subject     uuid        NOT NULL,
    event_id    uuid        NOT NULL,
    kind        text        NOT NULL,
    occurred_at timestamptz NOT NULL,
    recorded_at timestamptz NOT NULL,
    units       text[]      NOT NULL,
    data        jsonb       NOT NULL,
    PRIMARY KEY (subject, event_id)
);
CREATE INDEX IF NOT EXISTS facts_units ON {schema}.facts USING gin (units);
CREATE TABLE IF NOT EXISTS {schema}.penalty_facts (
    event_id    uuid        PRIMARY KEY,
    rule        text        NOT NULL,
    unit_code   text        NOT NULL,
    occurred_at timestamptz NOT NULL,
    recorded_at timestamptz NOT NULL,
    points      double precision NOT NULL
);
CREATE TABLE IF NOT EXISTS {schema}.stream_marks (
    stream_id  text  NOT NULL,
    event_id   uuid  NOT NULL,
    event_type text  NOT NULL,
    payload    jsonb NOT NULL,
    PRIMARY KEY (stream_id, event_id)
);
CREATE TABLE IF NOT EXISTS {schema}.coverage (
    unit_code   text    NOT NULL,
    indicator   text    NOT NULL,
    period      text    NOT NULL,
    numerator   integer NOT NULL,  -- no CHECK: PostgreSQL checks the proposed row of an
    denominator integer NOT NULL,  -- upsert, which here is a change (+1, 0), not a figure
    PRIMARY KEY (period, unit_code, indicator)
);
CREATE TABLE IF NOT EXISTS {schema}.announced (
    unit_code   text    NOT NULL,
    indicator   text    NOT NULL,
    period      text    NOT NULL,
    numerator   integer NOT NULL,
    denominator integer NOT NULL,
    version     integer NOT NULL,
    PRIMARY KEY (period, unit_code, indicator)
);
CREATE TABLE IF NOT EXISTS {schema}.dirty_cells (
    -- append-only: the projection never waits for the announcer, which deletes what it read
    seq       bigserial PRIMARY KEY,
    unit_code text NOT NULL,
    indicator text NOT NULL,
    period    text NOT NULL
);
CREATE TABLE IF NOT EXISTS {schema}.live_years (
    -- the years whose periods the coverage table holds; a rebuild keeps them
    year integer PRIMARY KEY
);
CREATE TABLE IF NOT EXISTS {schema}.view_state (
    key   text PRIMARY KEY,
    value timestamptz
);
"""

VIEW_TABLES = ("facts", "penalty_facts", "stream_marks", "coverage")
