// Lock one window for writing and tell whether it exists; scores are written in the same transaction.
// params: start
MATCH (w:Window {start: $start})
SET w._lock = true
REMOVE w._lock
RETURN count(w) AS found
