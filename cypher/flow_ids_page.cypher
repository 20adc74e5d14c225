// Page through every stored flow id in id order, for migration to another store.
// params: after, limit
MATCH (f:IngestedFlow)
WHERE $after IS NULL OR f.id > $after
RETURN f.id AS id, f.window_start AS window_start
ORDER BY id
LIMIT $limit
