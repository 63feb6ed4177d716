-- Presence follows the agent: an available agent with no inbox page open
-- for AGENT_AWAY_AFTER turns away, and back on return; signing out makes
-- them offline. users.status stays what routing and the widgets read;
-- chosen_status keeps the agent's own choice apart from what Parley set.

-- NULL: status is the agent's own choice. Else Parley set status (away
-- while no inbox page was open, offline after signing out) and this is
-- the choice it stands in for, put back when the agent returns.
ALTER TABLE users ADD COLUMN chosen_status text CHECK (chosen_status IN ('available', 'away', 'offline'));
-- When status was last chosen or set: an agent who chose to be available
-- after closing their last inbox page gets the whole away time again.
ALTER TABLE users ADD COLUMN status_at timestamptz NOT NULL DEFAULT now();

-- Which agents have an inbox page's live socket open, on which backend.
-- Each backend writes a row when an agent's first socket on it opens and
-- marks it left when the last one closes; its heartbeat row
-- (backend_heartbeats) vouches for the open ones, so a backend that
-- crashed stops counting once its heartbeat is stale. An agent without
-- any row never had a page open and is never turned away automatically.
CREATE TABLE agent_sockets (
    user_id bigint NOT NULL REFERENCES users ON DELETE CASCADE,
    backend text NOT NULL,
    left_at timestamptz,        -- NULL: open now; else when the last socket on this backend closed
    PRIMARY KEY (user_id, backend)
);
CREATE INDEX agent_sockets_backend ON agent_sockets (backend);
