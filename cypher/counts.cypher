// Count the stored flow ids, devices, windows, edges, scores and jobs (served from Neo4j's count store).
// params: none
CALL () { MATCH (f:IngestedFlow) RETURN count(f) AS flows }
CALL () { MATCH (d:Device) RETURN count(d) AS devices }
CALL () { MATCH (w:Window) RETURN count(w) AS windows }
CALL () { MATCH ()-[r:COMMUNICATED]->() RETURN count(r) AS edges }
CALL () { MATCH ()-[s:SCORED]->() RETURN count(s) AS scores }
CALL () { MATCH (j:Job) RETURN count(j) AS jobs }
RETURN flows, devices, windows, edges, scores, jobs
