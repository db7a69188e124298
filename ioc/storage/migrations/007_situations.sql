-- Situations: alerts raised by the city pack's rules, merged into managed incidents with a
-- lifecycle (open → acknowledged → in progress → resolved → closed), escalation, assignment,
-- comments and a checklist from the type's standard operating procedure. Every change is a
-- row of situation_events. Plain tables in both storage modes: situations are few and are
-- updated in place, which hypertables are not made for.
CREATE TABLE IF NOT EXISTS situations (
    id                   bigserial PRIMARY KEY,
    type                 text NOT NULL,
    severity             text NOT NULL CHECK (severity IN ('info', 'minor', 'major', 'critical')),
    -- The rule's severity before any escalation.
    base_severity        text NOT NULL
                         CHECK (base_severity IN ('info', 'minor', 'major', 'critical')),
    status               text NOT NULL DEFAULT 'open'
                         CHECK (status IN ('open', 'acknowledged', 'in_progress', 'resolved',
                                           'closed')),
    -- Vietnamese title, and the same in English.
    title                text NOT NULL,
    title_en             text NOT NULL,
    rule_id              text NOT NULL,
    asset_kind           text,
    asset_id             text,
    district             text,
    lon                  double precision,
    lat                  double precision,
    opened_at            timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    -- When the newest alert merged in: the district merge window counts from here.
    last_alert_at        timestamptz NOT NULL DEFAULT now(),
    acknowledged_at      timestamptz,
    acknowledged_by      text,
    assignee             text,
    escalated            boolean NOT NULL DEFAULT false,
    escalated_at         timestamptz,
    condition_cleared_at timestamptz,
    resolved_at          timestamptz,
    resolved_by          text,
    closed_at            timestamptz,
    evidence             jsonb NOT NULL DEFAULT '[]'::jsonb,
    alert_count          integer NOT NULL DEFAULT 1 CHECK (alert_count >= 1)
);
CREATE INDEX IF NOT EXISTS situations_active ON situations (type, district)
    WHERE status IN ('open', 'acknowledged', 'in_progress');
CREATE INDEX IF NOT EXISTS situations_asset ON situations (asset_kind, asset_id)
    WHERE status IN ('open', 'acknowledged', 'in_progress');
CREATE INDEX IF NOT EXISTS situations_opened ON situations (opened_at DESC);
CREATE INDEX IF NOT EXISTS situations_resolved ON situations (resolved_at DESC);

-- Every change of a situation: who (a username, or "system"), what, when, from which state.
CREATE TABLE IF NOT EXISTS situation_events (
    id           bigserial PRIMARY KEY,
    situation_id bigint NOT NULL REFERENCES situations (id) ON DELETE CASCADE,
    time         timestamptz NOT NULL DEFAULT now(),
    actor        text NOT NULL,
    action       text NOT NULL,
    from_status  text,
    to_status    text,
    detail       jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX IF NOT EXISTS situation_events_situation ON situation_events (situation_id, id);
CREATE INDEX IF NOT EXISTS situation_events_time ON situation_events (time DESC);

-- Each alert a rule raised about one subject (an asset, a feed), and the situation it fed.
-- A situation's condition has cleared when every one of its alerts has cleared; the engine
-- reloads the alerts still raised when it restarts.
CREATE TABLE IF NOT EXISTS situation_alerts (
    id           bigserial PRIMARY KEY,
    situation_id bigint NOT NULL REFERENCES situations (id) ON DELETE CASCADE,
    rule_id      text NOT NULL,
    subject      text NOT NULL,
    raised_at    timestamptz NOT NULL,
    cleared_at   timestamptz,
    value        double precision
);
CREATE INDEX IF NOT EXISTS situation_alerts_situation ON situation_alerts (situation_id);
CREATE UNIQUE INDEX IF NOT EXISTS situation_alerts_raised ON situation_alerts (rule_id, subject)
    WHERE cleared_at IS NULL;

-- Comments of operators on a situation.
CREATE TABLE IF NOT EXISTS situation_comments (
    id           bigserial PRIMARY KEY,
    situation_id bigint NOT NULL REFERENCES situations (id) ON DELETE CASCADE,
    time         timestamptz NOT NULL DEFAULT now(),
    author       text NOT NULL,
    text         text NOT NULL CHECK (length(text) BETWEEN 1 AND 4000)
);
CREATE INDEX IF NOT EXISTS situation_comments_situation ON situation_comments (situation_id, id);

-- The checklist copied from the type's procedure when the situation opened, with its ticks.
CREATE TABLE IF NOT EXISTS situation_checklist (
    situation_id bigint NOT NULL REFERENCES situations (id) ON DELETE CASCADE,
    item_id      text NOT NULL,
    position     integer NOT NULL,
    text_vi      text NOT NULL,
    text_en      text NOT NULL,
    done         boolean NOT NULL DEFAULT false,
    done_by      text,
    done_at      timestamptz,
    PRIMARY KEY (situation_id, item_id)
);
