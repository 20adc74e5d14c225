// Return the last heartbeat of every worker.
// params: none
MATCH (k:Worker)
RETURN k.id AS id, k.heartbeat_at AS heartbeat_at
