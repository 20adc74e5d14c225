// Recount the edges and distinct devices of windows after a batch changed them.
// params: starts
UNWIND $starts AS start
MATCH (w:Window {start: start})
CALL (w) {
  MATCH ()-[r:COMMUNICATED {window_start: w.start}]->()
  RETURN count(r) AS edges
}
CALL (w) {
  MATCH (d:Device)-[:COMMUNICATED {window_start: w.start}]-()
  RETURN count(DISTINCT d) AS devices
}
SET w.edges = edges, w.devices = devices
