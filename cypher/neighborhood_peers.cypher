// Return the peers of a set of devices over COMMUNICATED edges whose window start lies in
// [since, until], in either direction; one breadth-first step of a neighbourhood.
// params: ids, since, until
UNWIND $ids AS id
MATCH (:Device {id: id})-[r:COMMUNICATED]-(peer:Device)
WHERE ($since IS NULL OR r.window_start >= $since) AND ($until IS NULL OR r.window_start <= $until)
RETURN DISTINCT peer.id AS id
