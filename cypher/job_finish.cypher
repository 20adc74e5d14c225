// Finish a job that is not finished yet (done, failed or cancelled); returns the job either way.
// The lock comes before the status is read, so a concurrent cancel or finish is seen.
// params: id, status, error, at
MATCH (j:Job {id: $id})
SET j._lock = true
WITH j, NOT j.status IN ['done', 'failed', 'cancelled'] AS open
FOREACH (_ IN CASE WHEN open THEN [1] ELSE [] END |
  SET j.status = $status, j.error = $error, j.finished_at = $at
)
REMOVE j._lock
RETURN j {.*} AS job, open AS updated
