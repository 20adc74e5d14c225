// Return the score behind each device's latest-score properties.
// params: ids
UNWIND $ids AS id
MATCH (d:Device {id: id})-[s:SCORED]->(w:Window)
WHERE w.start = d.anomaly_window AND s.model_version = d.model_version
RETURN d.id AS device_id, s {.*} AS score
