// Delete up to batch_size COMMUNICATED relationships of windows starting before a time.
// params: before, batch_size
MATCH ()-[r:COMMUNICATED]->()
WHERE r.window_start < $before
WITH r
LIMIT $batch_size
DELETE r
RETURN count(*) AS deleted
