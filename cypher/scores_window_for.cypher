// Return the given devices' scores in one window, from the model that scored the window last.
// params: ids, window_start
UNWIND $ids AS id
MATCH (d:Device {id: id})-[s:SCORED]->(w:Window {start: $window_start})
WHERE s.model_version = w.model_version
RETURN d.id AS device_id, s {.*} AS score
