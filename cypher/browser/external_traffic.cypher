// Where did a suspicious device send traffic outside the network, and how much?
// One row per external peer over the time range, largest upload first.
// Set first:  :param device_id => '192.168.1.66'
//             :param since => 1700000000.0
//             :param until => 1700003600.0
// params: device_id, since, until
MATCH (d:Device {id: $device_id})-[r:COMMUNICATED]->(external:Device {internal: false})
WHERE r.window_start >= $since AND r.window_start <= $until
WITH external, collect(r) AS edges
RETURN
  external.id AS external_peer,
  size(edges) AS windows,
  reduce(total = 0, e IN edges | total + e.flows) AS flows,
  reduce(total = 0, e IN edges | total + e.bytes_out) AS bytes_out,
  reduce(total = 0, e IN edges | total + e.bytes_in) AS bytes_in,
  reduce(total = 0, e IN edges | total + e.malicious_flows) AS malicious_flows,
  reduce(ports = [], e IN edges | ports + [p IN e.dst_ports WHERE NOT p IN ports]) AS dst_ports,
  reduce(names = [], e IN edges | names + [p IN e.protocols WHERE NOT p IN names]) AS protocols
ORDER BY bytes_out DESC, external_peer
