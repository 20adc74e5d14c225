// Read one job by id.
// params: id
MATCH (j:Job {id: $id})
RETURN j {.*} AS job
