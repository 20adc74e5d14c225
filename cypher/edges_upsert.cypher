// Merge one batch of COMMUNICATED aggregates: counts add, first_ts/last_ts take the min/max.
// Returns the histograms stored before this batch, read after the SET has locked the
// relationship, so the caller merges them without losing a concurrent writer's counts.
// params: rows
UNWIND $rows AS row
MATCH (s:Device {id: row.src})
MATCH (t:Device {id: row.dst})
MERGE (s)-[r:COMMUNICATED {window_start: row.window_start}]->(t)
  ON CREATE SET
    r.window_end = row.window_end,
    r.flows = 0, r.bytes_out = 0, r.bytes_in = 0, r.pkts_out = 0, r.pkts_in = 0,
    r.duration_sum = 0.0, r.failed_flows = 0, r.malicious_flows = 0, r.benign_flows = 0,
    r.first_ts = row.first_ts, r.last_ts = row.last_ts
SET
  r.flows = r.flows + row.flows,
  r.bytes_out = r.bytes_out + row.bytes_out,
  r.bytes_in = r.bytes_in + row.bytes_in,
  r.pkts_out = r.pkts_out + row.pkts_out,
  r.pkts_in = r.pkts_in + row.pkts_in,
  r.duration_sum = r.duration_sum + row.duration_sum,
  r.failed_flows = r.failed_flows + row.failed_flows,
  r.malicious_flows = r.malicious_flows + row.malicious_flows,
  r.benign_flows = r.benign_flows + row.benign_flows,
  r.first_ts = CASE WHEN row.first_ts < r.first_ts THEN row.first_ts ELSE r.first_ts END,
  r.last_ts = CASE WHEN row.last_ts > r.last_ts THEN row.last_ts ELSE r.last_ts END
SET r.bytes = r.bytes_out + r.bytes_in
RETURN
  row.src AS src,
  row.dst AS dst,
  row.window_start AS window_start,
  r.protocols_json AS protocols_json,
  r.dst_ports_json AS dst_ports_json,
  r.conn_states_json AS conn_states_json,
  r.services_json AS services_json,
  r.attacks_json AS attacks_json
