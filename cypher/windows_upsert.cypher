// Merge the windows one batch touched and add the batch's flows to each.
// params: rows
UNWIND $rows AS row
MERGE (w:Window {start: row.start})
  ON CREATE SET w.end = row.end, w.flows = 0, w.devices = 0, w.edges = 0, w.status = 'open'
SET w.flows = w.flows + row.flows
