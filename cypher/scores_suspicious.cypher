// Rank one window's scores from the model that scored it last, highest first.
// params: window_start, min_score, limit
MATCH (d:Device)-[s:SCORED]->(w:Window {start: $window_start})
WHERE s.model_version = w.model_version AND s.score >= $min_score
RETURN d.id AS device_id, s {.*} AS score
ORDER BY s.score DESC, d.id
LIMIT $limit
