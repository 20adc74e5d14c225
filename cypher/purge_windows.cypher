// Delete up to batch_size windows starting before a time, with any score still attached.
// params: before, batch_size
MATCH (w:Window)
WHERE w.start < $before
WITH w
LIMIT $batch_size
DETACH DELETE w
RETURN count(*) AS deleted
