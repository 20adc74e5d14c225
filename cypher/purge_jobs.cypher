// Delete up to batch_size finished jobs requested before a time.
// params: before, batch_size
MATCH (j:Job)
WHERE j.requested_at < $before AND j.status IN ['done', 'failed', 'cancelled']
WITH j
LIMIT $batch_size
DELETE j
RETURN count(*) AS deleted
