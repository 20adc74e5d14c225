// Delete up to batch_size devices left without any COMMUNICATED edge, with their scores.
// params: batch_size
MATCH (d:Device)
WHERE NOT EXISTS { (d)-[:COMMUNICATED]-() }
WITH d
LIMIT $batch_size
DETACH DELETE d
RETURN count(*) AS deleted
