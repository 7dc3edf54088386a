-- sfagent schema: the pending ops in seq order, for push's page of ready ops
-- (store/op_sync.c, sql_ready). outbox_ready (state, next_attempt_at, seq) finds due ops
-- but gives them in next_attempt_at order, so each page sorted every pending op: a push
-- of N ops cost O(N^2 / page). With this index a page walks from where the last one
-- ended and stops after page-size rows: the cost of a page is the page, whatever the
-- backlog (docs/sync-protocol.md#batching).
CREATE INDEX outbox_pending_seq ON outbox (seq) WHERE state = 'pending';
