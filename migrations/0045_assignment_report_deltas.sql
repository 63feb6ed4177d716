-- An assignment batch (store.AutoAssign) writes its report deltas itself,
-- in the statement that assigns: one INSERT for the batch instead of the
-- row trigger's plpgsql call and INSERT for every conversation, under the
-- routing lock every backend's assignments queue for. The batch sets
-- parley.report_deltas_written for its transaction (set_config, local) and
-- the trigger stands aside there; every other change is reported by the
-- trigger as before.
DROP TRIGGER conversations_report_update ON conversations;
CREATE TRIGGER conversations_report_update
    AFTER UPDATE OF account_id, created_at, inbox_id, assignee_id, status, closed_at, first_response_at, csat_score ON conversations
    FOR EACH ROW
    WHEN ((OLD.account_id, OLD.created_at, OLD.inbox_id, OLD.assignee_id, OLD.status, OLD.closed_at, OLD.first_response_at, OLD.csat_score)
        IS DISTINCT FROM (NEW.account_id, NEW.created_at, NEW.inbox_id, NEW.assignee_id, NEW.status, NEW.closed_at, NEW.first_response_at, NEW.csat_score)
        AND current_setting('parley.report_deltas_written', true) IS DISTINCT FROM 'on')
    EXECUTE FUNCTION report_conversation_changed();
