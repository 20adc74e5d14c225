// Refresh a running job's heartbeat when the job still belongs to the worker.
// params: id, worker_id, at
MATCH (j:Job {id: $id})
WHERE j.worker_id = $worker_id AND j.status = 'running'
SET j.heartbeat_at = $at
RETURN count(j) AS updated
