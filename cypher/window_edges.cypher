// Stream every COMMUNICATED aggregate of one window, ordered by source then destination.
// params: start
MATCH (s:Device)-[r:COMMUNICATED {window_start: $start}]->(t:Device)
RETURN
  s.id AS src,
  t.id AS dst,
  s.internal AS src_internal,
  t.internal AS dst_internal,
  r.window_start AS window_start,
  r.window_end AS window_end,
  r.flows AS flows,
  r.bytes_out AS bytes_out,
  r.bytes_in AS bytes_in,
  r.pkts_out AS pkts_out,
  r.pkts_in AS pkts_in,
  r.duration_sum AS duration_sum,
  r.failed_flows AS failed_flows,
  r.malicious_flows AS malicious_flows,
  r.benign_flows AS benign_flows,
  r.first_ts AS first_ts,
  r.last_ts AS last_ts,
  r.protocols_json AS protocols_json,
  r.dst_ports_json AS dst_ports_json,
  r.conn_states_json AS conn_states_json,
  r.services_json AS services_json,
  r.attacks_json AS attacks_json
ORDER BY src, dst
