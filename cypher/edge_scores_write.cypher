// Store per-edge scores of one window on its COMMUNICATED relationships.
// params: rows, window_start, model_version
UNWIND $rows AS row
MATCH (:Device {id: row.src})-[r:COMMUNICATED {window_start: $window_start}]->(:Device {id: row.dst})
SET r.score = row.score, r.score_model_version = $model_version
