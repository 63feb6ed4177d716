-- Routing and the REST lists: find the conversations waiting for an agent,
-- count an agent's open chats, and page conversations and tickets by id.

-- Waiting: open and unassigned, oldest first (routing.RouteWaiting).
CREATE INDEX conversations_waiting ON conversations (account_id, created_at, id)
    WHERE status = 'open' AND assignee_id IS NULL;

-- REST lists page newest first by id.
CREATE INDEX conversations_account_page ON conversations (account_id, id DESC);
CREATE INDEX tickets_account_page ON tickets (account_id, id DESC);

-- Targets resolved from teams.
CREATE INDEX team_members_user ON team_members (user_id);
