// Remember the flow ids of one ingest batch; the uniqueness constraint on IngestedFlow.id
// rejects an id that a concurrent batch stored first.
// params: rows
UNWIND $rows AS row
CREATE (:IngestedFlow {id: row.id, window_start: row.window_start})
