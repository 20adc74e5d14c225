// Cancel a queued or running job; a finished job stays as it is. Returns the job either way.
// The lock comes before the status is read, so a concurrent claim or finish is seen.
// params: id, at
MATCH (j:Job {id: $id})
SET j._lock = true
FOREACH (_ IN CASE WHEN j.status IN ['queued', 'running'] THEN [1] ELSE [] END |
  SET j.status = 'cancelled', j.finished_at = $at
)
REMOVE j._lock
RETURN j {.*} AS job
