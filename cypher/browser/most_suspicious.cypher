// Which devices scored highest in one window, and how much did each talk?
// Scores come from the model that scored the window last.
// Set first:  :param window_start => 1700000000.0
//             :param limit => 20
// params: window_start, limit
MATCH (d:Device)-[s:SCORED]->(w:Window {start: $window_start})
WHERE s.model_version = w.model_version
OPTIONAL MATCH (d)-[out:COMMUNICATED {window_start: $window_start}]->(peer:Device)
WITH d, s, count(DISTINCT peer) AS peers, sum(out.flows) AS flows_out, sum(out.bytes) AS bytes
RETURN
  d.id AS device,
  s.score AS score,
  s.rank AS rank,
  s.predicted AS predicted,
  d.label AS label,
  d.analyst_label AS analyst_label,
  peers,
  flows_out,
  bytes
ORDER BY score DESC, device
LIMIT $limit
