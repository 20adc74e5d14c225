// Forget up to batch_size ingested flow ids whose last window starts before a time.
// params: before, batch_size
MATCH (f:IngestedFlow)
WHERE f.window_start < $before
WITH f
LIMIT $batch_size
DELETE f
RETURN count(*) AS deleted
