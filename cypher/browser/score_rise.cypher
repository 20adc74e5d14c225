// Whose score rose most since the previous window? Compares each device's score in one window
// with its score from the same model in the window just before; a device not scored before
// counts from 0.
// Set first:  :param window_start => 1700000300.0
//             :param limit => 20
// params: window_start, limit
MATCH (current:Window {start: $window_start})
OPTIONAL MATCH (earlier:Window)
WHERE earlier.start < current.start
WITH current, earlier
ORDER BY earlier.start DESC
LIMIT 1
MATCH (d:Device)-[now:SCORED]->(current)
WHERE now.model_version = current.model_version
OPTIONAL MATCH (d)-[before:SCORED {model_version: now.model_version}]->(earlier)
WITH d, now.score AS score, before.score AS previous_score, earlier.start AS previous_window
RETURN
  d.id AS device,
  score,
  previous_score,
  score - coalesce(previous_score, 0.0) AS rise,
  previous_window
ORDER BY rise DESC, device
LIMIT $limit
