// Which peers did a device talk to in one window that it had never talked to before?
// New peers of an IoT device, which usually talks to the same few hosts, are worth a look.
// Set first:  :param device_id => '192.168.1.66'
//             :param window_start => 1700000300.0
// params: device_id, window_start
MATCH (d:Device {id: $device_id})-[r:COMMUNICATED {window_start: $window_start}]-(peer:Device)
WHERE NOT EXISTS {
  MATCH (d)-[earlier:COMMUNICATED]-(peer)
  WHERE earlier.window_start < $window_start
}
RETURN
  peer.id AS peer,
  peer.internal AS internal,
  peer.anomaly_score AS peer_score,
  sum(r.flows) AS flows,
  sum(r.bytes) AS bytes,
  reduce(ports = [], rel IN collect(r) | ports + [p IN rel.dst_ports WHERE NOT p IN ports]) AS dst_ports
ORDER BY flows DESC, peer
