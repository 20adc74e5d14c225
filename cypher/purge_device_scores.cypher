// Clear the latest-score properties and risk label of up to batch_size devices whose latest
// score came from a window starting before a time, as that window's scores are being deleted.
// params: before, batch_size
MATCH (d:Device)
WHERE d.anomaly_window < $before
WITH d
LIMIT $batch_size
SET d.anomaly_score = null, d.anomaly_window = null, d.predicted_label = null, d.model_version = null,
  d.scored_at = null, d.risk = null
REMOVE d:HighRisk:MediumRisk
RETURN count(*) AS deleted
