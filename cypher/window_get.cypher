// Read one window by its start.
// params: start
MATCH (w:Window {start: $start})
RETURN w {.*} AS window
