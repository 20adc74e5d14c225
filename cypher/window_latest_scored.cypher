// Return the start of the most recent scored window, or null.
// params: none
MATCH (w:Window {status: 'scored'})
RETURN max(w.start) AS start
