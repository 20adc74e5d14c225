// Who did a device talk to, and who did they talk to, between two times? Draws the 2-hop
// neighbourhood as a graph; node colour and size show each device's latest risk band
// (load iotgraph.grass) and each device's anomaly_score is in its properties.
// Set first:  :param device_id => '192.168.1.66'
//             :param since => 1700000000.0
//             :param until => 1700003600.0
// params: device_id, since, until
MATCH path = (:Device {id: $device_id})-[:COMMUNICATED*1..2]-(:Device)
WHERE all(r IN relationships(path) WHERE r.window_start >= $since AND r.window_start <= $until)
RETURN path
LIMIT 300
