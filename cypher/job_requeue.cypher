// Put one running job back in the queue, forgetting its worker; returns the job either way.
// The lock comes before the status is read, so a concurrent cancel or finish is seen.
// params: id
MATCH (j:Job {id: $id})
SET j._lock = true
WITH j, j.status = 'running' AS running
FOREACH (_ IN CASE WHEN running THEN [1] ELSE [] END |
  SET j.status = 'queued', j.worker_id = null, j.started_at = null, j.heartbeat_at = null
)
REMOVE j._lock
RETURN j {.*} AS job, running AS updated
