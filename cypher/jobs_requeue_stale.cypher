// Put running jobs whose heartbeat is older than a time back in the queue.
// params: older_than
MATCH (j:Job {status: 'running'})
WHERE j.heartbeat_at < $older_than
SET j.status = 'queued', j.worker_id = null, j.started_at = null, j.heartbeat_at = null
RETURN count(j) AS requeued
