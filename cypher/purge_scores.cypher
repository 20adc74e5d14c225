// Delete up to batch_size SCORED relationships of windows starting before a time.
// params: before, batch_size
MATCH (:Device)-[s:SCORED]->(w:Window)
WHERE w.start < $before
WITH s
LIMIT $batch_size
DELETE s
RETURN count(*) AS deleted
