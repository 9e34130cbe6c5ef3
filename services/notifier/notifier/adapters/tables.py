"""The notifier's tables (besides the kit's event store and projection bookkeeping).

* ``residents``: the few non-personal facts the rules need about each person.
* ``notifications``: what a rule decided to say, to whom, caused by which event. ``seq`` is
  the decision order; each recipient's deliveries follow it.
* ``deliveries``: one row per notification and channel, a small outbox per channel. Its id is
  the idempotency key the receiver sees, so a delivery sent again after a crash is
  recognised. ``delivery_attempts`` keeps every try and its error; ``revival`` counts the
  times staff sent a dead letter back to the queue.
* ``timers``: waiting steps of watches, on business time; at most one pending per
  ``(rule, subject, step)``. ``closings`` and ``cancellations`` remember what stopped
  watches, so a watch opened by an event that arrives late starts stopped (domain.model).
* ``inbox``: what each unit, resident or outside place has received (the inbox channel).
* ``subscriptions``: which other channels a recipient is reached through, and where.
"""

DDL = """
CREATE TABLE IF NOT EXISTS {schema}.residents (
    resident_id            uuid PRIMARY KEY,
    unit_code              text,
    sex                    text,
    birth_date             date,
    marital_status         text,
    population             text,
    pregnancy_planned_from date
);
CREATE TABLE IF NOT EXISTS {schema}.notifications (
    notification_id    uuid        PRIMARY KEY,
    seq                bigserial   NOT NULL UNIQUE,
    rule               text        NOT NULL,
    title              text        NOT NULL,
    step               text        NOT NULL,
    recipient          text        NOT NULL,
    text               text        NOT NULL,
    unit_code          text        NOT NULL,
    caused_by_event_id uuid        NOT NULL,
    correlation_id     uuid        NOT NULL,
    decided_at         timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS notifications_cause ON {schema}.notifications (caused_by_event_id);
-- The trace context of the event that caused it (platform_kit.tracing): its deliveries continue that trace.
ALTER TABLE {schema}.notifications ADD COLUMN IF NOT EXISTS traceparent text;
CREATE TABLE IF NOT EXISTS {schema}.deliveries (
    delivery_id     uuid        PRIMARY KEY,
    notification_id uuid        NOT NULL REFERENCES {schema}.notifications,
    seq             bigint      NOT NULL,
    channel         text        NOT NULL,
    recipient       text        NOT NULL,
    address         text        NOT NULL,
    state           text        NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'dead')),
    attempts        integer     NOT NULL DEFAULT 0,
    revival         integer     NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL,
    last_error      text,
    deferred_reason text,
    finished_at     timestamptz
);
CREATE INDEX IF NOT EXISTS deliveries_queue ON {schema}.deliveries (channel, recipient, seq) WHERE state = 'pending';
CREATE INDEX IF NOT EXISTS deliveries_of_notification ON {schema}.deliveries (notification_id);
CREATE INDEX IF NOT EXISTS deliveries_dead ON {schema}.deliveries (channel, finished_at) WHERE state = 'dead';
CREATE TABLE IF NOT EXISTS {schema}.delivery_attempts (
    delivery_id  uuid        NOT NULL,
    revival      integer     NOT NULL,
    attempt      integer     NOT NULL,
    attempted_at timestamptz NOT NULL,
    outcome      text        NOT NULL CHECK (outcome IN ('delivered', 'failed', 'dead')),
    error        text,
    retry_at     timestamptz,
    PRIMARY KEY (delivery_id, revival, attempt)
);
CREATE TABLE IF NOT EXISTS {schema}.timers (
    timer_id            uuid        PRIMARY KEY,
    rule                text        NOT NULL,
    subject             text        NOT NULL,
    step                integer     NOT NULL,
    at_days             integer     NOT NULL,
    fire_at             timestamptz NOT NULL,
    due_at              timestamptz NOT NULL,
    reminder            boolean     NOT NULL,
    recipients          text[]      NOT NULL,
    text                text        NOT NULL,
    resident_id         uuid,
    caused_by_event_id  uuid        NOT NULL,
    correlation_id      uuid        NOT NULL,
    cause_unit          text        NOT NULL,
    opened_at           timestamptz NOT NULL,
    facts               jsonb       NOT NULL,
    state               text        NOT NULL CHECK (state IN ('pending', 'fired', 'expired', 'closed', 'cancelled')),
    stopped_by_event_id uuid,
    stopped_reason      text,
    settled_at          timestamptz
);
CREATE UNIQUE INDEX IF NOT EXISTS timers_one_pending ON {schema}.timers (rule, subject, step) WHERE state = 'pending';
CREATE INDEX IF NOT EXISTS timers_due ON {schema}.timers (fire_at) WHERE state = 'pending';
CREATE INDEX IF NOT EXISTS timers_of_resident ON {schema}.timers (resident_id, rule) WHERE state = 'pending';
CREATE TABLE IF NOT EXISTS {schema}.closings (
    rule        text        NOT NULL,
    subject     text        NOT NULL,
    by_event_id uuid        NOT NULL,
    occurred_at timestamptz NOT NULL,
    reason      text        NOT NULL,
    PRIMARY KEY (rule, subject, by_event_id)
);
CREATE TABLE IF NOT EXISTS {schema}.cancellations (
    rule        text        NOT NULL,
    resident_id uuid        NOT NULL,
    by_event_id uuid        NOT NULL,
    occurred_at timestamptz NOT NULL,
    reason      text        NOT NULL,
    PRIMARY KEY (rule, resident_id, by_event_id)
);
CREATE TABLE IF NOT EXISTS {schema}.inbox (
    recipient          text        NOT NULL,
    notification_id    uuid        NOT NULL,
    delivery_id        uuid        NOT NULL UNIQUE,
    seq                bigint      NOT NULL,
    rule               text        NOT NULL,
    title              text        NOT NULL,
    text               text        NOT NULL,
    caused_by_event_id uuid        NOT NULL,
    delivered_at       timestamptz NOT NULL,
    read_at            timestamptz,
    PRIMARY KEY (recipient, notification_id)
);
CREATE INDEX IF NOT EXISTS inbox_newest ON {schema}.inbox (recipient, seq DESC);
CREATE TABLE IF NOT EXISTS {schema}.subscriptions (
    recipient text NOT NULL,
    channel   text NOT NULL CHECK (channel IN ('webhook', 'email', 'sms')),
    address   text NOT NULL,
    PRIMARY KEY (recipient, channel)
);
"""

DELIVERIES_CHANNEL = "{schema}_deliveries"  # NOTIFY: new deliveries are waiting


def deliveries_channel(schema: str) -> str:
    return DELIVERIES_CHANNEL.format(schema=schema)
