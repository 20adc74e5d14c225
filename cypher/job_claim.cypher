// Move the oldest queued job to running for one worker.
// Why two workers never both claim a job: SET j._lock takes the job node's write lock, which
// Neo4j holds until the transaction ends, and the claim_id SET reads the status only after
// that. A second worker that picked the same job blocks on the lock, then reads the status the
// first one committed ('running'), so its claim_id is not written and claimable is false; the
// caller then tries the next queued job.
// params: worker_id, claim_id, at
MATCH (j:Job {status: 'queued'})
WITH j
ORDER BY j.requested_at, j.id
LIMIT 1
SET j._lock = true
SET j.claim_id = CASE WHEN j.status = 'queued' THEN $claim_id ELSE j.claim_id END
WITH j, j.claim_id = $claim_id AS claimable
FOREACH (_ IN CASE WHEN claimable THEN [1] ELSE [] END |
  SET j.status = 'running', j.worker_id = $worker_id, j.started_at = $at, j.heartbeat_at = $at
)
REMOVE j._lock
RETURN j {.*} AS job, claimable
