// Queue a job.
// params: id, kind, window_start, window_end, model, requested_by, at
CREATE (j:Job {
  id: $id,
  kind: $kind,
  status: 'queued',
  window_start: $window_start,
  window_end: $window_end,
  model: $model,
  requested_by: $requested_by,
  requested_at: $at
})
RETURN j {.*} AS job
