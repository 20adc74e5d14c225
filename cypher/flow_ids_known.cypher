// Return which of the given flow ids were ingested before.
// params: ids
UNWIND $ids AS id
MATCH (f:IngestedFlow {id: id})
RETURN f.id AS id
