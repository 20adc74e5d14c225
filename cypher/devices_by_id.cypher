// Read the devices among the given ids.
// params: ids
UNWIND $ids AS id
MATCH (d:Device {id: id})
RETURN d {.*} AS device
