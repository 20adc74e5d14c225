// Store the read positions of the log files `iotgraph watch` follows, replacing earlier ones of the same paths.
// Each position is a Meta node keyed 'source_offset:' + path whose value is the position as a JSON string.
// params: rows
UNWIND $rows AS row
MERGE (m:Meta {key: row.key})
SET m.value = row.value
