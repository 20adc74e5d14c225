// Store settings that must never change once set (window size and step, schema version):
// the first writer's value wins, and the stored value comes back for the caller to compare.
// params: rows
UNWIND $rows AS row
MERGE (m:Meta {key: row.key})
  ON CREATE SET m.value = row.value
RETURN m.key AS key, m.value AS value
