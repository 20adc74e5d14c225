// Store merged histograms of COMMUNICATED aggregates: the full counts as JSON strings, and the
// most frequent protocols and destination ports as lists that Neo4j Browser can show.
// params: rows
UNWIND $rows AS row
MATCH (:Device {id: row.src})-[r:COMMUNICATED {window_start: row.window_start}]->(:Device {id: row.dst})
SET
  r.protocols_json = row.protocols_json,
  r.dst_ports_json = row.dst_ports_json,
  r.conn_states_json = row.conn_states_json,
  r.services_json = row.services_json,
  r.attacks_json = row.attacks_json,
  r.protocols = row.protocols,
  r.dst_ports = row.dst_ports
