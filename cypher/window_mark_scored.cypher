// Mark a window scored by a model version.
// params: start, scored_at, model_version
MATCH (w:Window {start: $start})
SET w.status = 'scored', w.scored_at = $scored_at, w.model_version = $model_version
