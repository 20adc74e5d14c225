// Return the real address behind one pseudonym; only the admin paths run this.
// params: id
MATCH (p:Pseudonym {id: $id})
RETURN p.address AS address
