// Read the stored read positions of followed log files: the Meta nodes whose key starts with the prefix.
// params: prefix
MATCH (m:Meta)
WHERE m.key STARTS WITH $prefix
RETURN m.key AS key, m.value AS value
ORDER BY key
