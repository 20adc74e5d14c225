// Write one window's device scores as SCORED relationships, keyed by model version, and move
// each device's latest-score properties, risk band and risk label when this window is at least
// as recent as the one they came from. Rows naming no stored device are skipped, so the
// returned count tells the caller how many were written.
// params: rows, window_start, model_version, scored_at, high_risk, medium_risk
MATCH (w:Window {start: $window_start})
UNWIND $rows AS row
MATCH (d:Device {id: row.device_id})
MERGE (d)-[s:SCORED {model_version: $model_version}]->(w)
SET
  s.window_start = $window_start,
  s.score = row.score,
  s.rank = row.rank,
  s.predicted = row.predicted,
  s.scored_at = $scored_at,
  s.explanation = row.explanation
WITH d, row,
  CASE
    WHEN row.score >= $high_risk THEN 'high'
    WHEN row.score >= $medium_risk THEN 'medium'
    ELSE 'low'
  END AS risk
FOREACH (_ IN CASE WHEN d.anomaly_window IS NULL OR d.anomaly_window <= $window_start THEN [1] ELSE [] END |
  SET
    d.anomaly_score = row.score,
    d.anomaly_window = $window_start,
    d.predicted_label = CASE row.predicted WHEN true THEN 'malicious' WHEN false THEN 'benign' ELSE null END,
    d.model_version = $model_version,
    d.scored_at = $scored_at,
    d.risk = risk
  REMOVE d:HighRisk:MediumRisk
  FOREACH (_high IN CASE WHEN risk = 'high' THEN [1] ELSE [] END | SET d:HighRisk)
  FOREACH (_medium IN CASE WHEN risk = 'medium' THEN [1] ELSE [] END | SET d:MediumRisk)
)
RETURN count(d) AS scored
