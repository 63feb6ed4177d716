-- Which visitors have a widget socket open, on which backend: an agent's
-- reply is emailed only to a visitor with none (one with a socket sees it
-- live). Each backend writes a row when a visitor's first socket on it
-- opens and marks it left when the last one closes; its heartbeat row
-- vouches for the open ones, so a backend that crashed stops counting once
-- its heartbeat is stale.
CREATE TABLE backend_heartbeats (
    backend text PRIMARY KEY,
    seen_at timestamptz NOT NULL DEFAULT now()
);

-- No foreign key to visitors: rows come and go with sockets, in batches,
-- and an erased visitor's row is harmless until its socket closes.
CREATE TABLE visitor_sockets (
    visitor_id bigint NOT NULL,
    backend    text NOT NULL,
    left_at    timestamptz,        -- NULL: open now; else when the last socket on this backend closed
    PRIMARY KEY (visitor_id, backend)
);
CREATE INDEX visitor_sockets_backend ON visitor_sockets (backend);
