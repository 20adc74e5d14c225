// Page through devices in id order after the cursor id, with optional filters (null = no filter).
// params: min_score, internal, label, after, limit
MATCH (d:Device)
WHERE ($min_score IS NULL OR d.anomaly_score >= $min_score)
  AND ($internal IS NULL OR d.internal = $internal)
  AND ($label IS NULL OR d.label = $label)
  AND ($after IS NULL OR d.id > $after)
RETURN d {.*} AS device
ORDER BY d.id
LIMIT $limit
