// Store the real address behind each pseudonym as a Pseudonym node, apart from the Device
// nodes, and keep the newest flow time seen for it (retention compares it with its cut-off).
// params: rows
UNWIND $rows AS row
MERGE (p:Pseudonym {id: row.id})
  ON CREATE SET p.address = row.address, p.last_seen = row.last_seen
  ON MATCH SET p.last_seen = CASE WHEN row.last_seen > p.last_seen THEN row.last_seen ELSE p.last_seen END
