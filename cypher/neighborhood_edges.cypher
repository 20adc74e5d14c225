// Return the COMMUNICATED edges among a set of devices whose window start lies in [since, until].
// params: ids, since, until
UNWIND $ids AS id
MATCH (s:Device {id: id})-[r:COMMUNICATED]->(t:Device)
WHERE t.id IN $ids
  AND ($since IS NULL OR r.window_start >= $since)
  AND ($until IS NULL OR r.window_start <= $until)
RETURN s.id AS src, t.id AS dst, r {.*} AS edge
ORDER BY r.window_start, src, dst
