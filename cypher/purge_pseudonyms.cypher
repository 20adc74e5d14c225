// Delete up to batch_size pseudonyms last seen before a time whose device is gone.
// A pseudonym seen later is kept: an ingest may have stored it and not yet its device.
// params: before, batch_size
MATCH (p:Pseudonym)
WHERE p.last_seen < $before AND NOT EXISTS { MATCH (d:Device {id: p.id}) }
WITH p
LIMIT $batch_size
DELETE p
RETURN count(*) AS deleted
