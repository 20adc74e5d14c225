// Record a worker's latest heartbeat.
// params: id, at
MERGE (k:Worker {id: $id})
SET k.heartbeat_at = $at
