// Read settings by key.
// params: keys
MATCH (m:Meta)
WHERE m.key IN $keys
RETURN m.key AS key, m.value AS value
