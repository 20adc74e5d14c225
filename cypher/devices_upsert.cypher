// Merge one batch's view of its devices: earliest first_seen, latest last_seen, flow counts
// added, and the ground-truth label derived again from the counts.
// params: rows
UNWIND $rows AS row
MERGE (d:Device {id: row.id})
  ON CREATE SET
    d.ip = row.ip,
    d.internal = row.internal,
    d.first_seen = row.first_seen,
    d.last_seen = row.last_seen,
    d.malicious_flows = 0,
    d.labelled_flows = 0
SET
  d.first_seen = CASE WHEN row.first_seen < d.first_seen THEN row.first_seen ELSE d.first_seen END,
  d.last_seen = CASE WHEN row.last_seen > d.last_seen THEN row.last_seen ELSE d.last_seen END,
  d.malicious_flows = d.malicious_flows + row.malicious_flows,
  d.labelled_flows = d.labelled_flows + row.labelled_flows
SET d.label = CASE
  WHEN d.malicious_flows > 0 THEN 'malicious'
  WHEN d.labelled_flows > 0 THEN 'benign'
  ELSE 'unknown'
END
RETURN count(d) AS devices
