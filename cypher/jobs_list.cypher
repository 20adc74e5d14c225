// List jobs, newest first, optionally of one status (null = every status).
// params: status, limit
MATCH (j:Job)
WHERE $status IS NULL OR j.status = $status
RETURN j {.*} AS job
ORDER BY j.requested_at DESC, j.id
LIMIT $limit
