// Store an analyst's decision on a device, apart from the ground-truth label.
// params: id, label, note, analyst, at
MATCH (d:Device {id: $id})
SET d.analyst_label = $label, d.analyst_note = $note, d.analyst_by = $analyst, d.analyst_at = $at
RETURN d {.*} AS device
