// Return the most recent explained score of a device, in one window or (null window) in any.
// params: id, window_start
MATCH (d:Device {id: $id})-[s:SCORED]->(w:Window)
WHERE s.explanation IS NOT NULL AND ($window_start IS NULL OR w.start = $window_start)
RETURN d.id AS device_id, s {.*} AS score
ORDER BY w.start DESC, s.scored_at DESC
LIMIT 1
