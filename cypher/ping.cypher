// Answer a trivial read, to tell whether the database is reachable.
// params: none
RETURN 1 AS ok
