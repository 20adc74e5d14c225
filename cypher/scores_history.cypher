// Return every score of one device in [since, until], oldest window first; a null bound is open.
// params: id, since, until
MATCH (d:Device {id: $id})-[s:SCORED]->(w:Window)
WHERE ($since IS NULL OR w.start >= $since) AND ($until IS NULL OR w.start <= $until)
RETURN d.id AS device_id, s {.*} AS score
ORDER BY w.start, s.scored_at
