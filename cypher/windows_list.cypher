// List windows whose start lies in [since, until], oldest first; a null bound is open.
// params: since, until
MATCH (w:Window)
WHERE ($since IS NULL OR w.start >= $since) AND ($until IS NULL OR w.start <= $until)
RETURN w {.*} AS window
ORDER BY w.start
