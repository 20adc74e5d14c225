// How did one device's score change over time? Every stored score, oldest window first,
// with the model that produced it (plot it with the Browser's line chart view).
// Set first:  :param device_id => '192.168.1.66'
// params: device_id
MATCH (:Device {id: $device_id})-[s:SCORED]->(w:Window)
RETURN
  w.start AS window_start,
  datetime({epochSeconds: toInteger(w.start)}) AS window_time,
  s.model_version AS model_version,
  s.score AS score,
  s.rank AS rank,
  s.predicted AS predicted
ORDER BY window_start, s.scored_at
