// Delete every node the store writes, in transactions of 10000 nodes; constraints and indexes stay.
// Runs in an auto-commit transaction because CALL ... IN TRANSACTIONS requires one.
// params: none
MATCH (n)
WHERE n:Device OR n:Window OR n:Job OR n:IngestedFlow OR n:Worker OR n:Meta OR n:Pseudonym
CALL (n) {
  DETACH DELETE n
} IN TRANSACTIONS OF 10000 ROWS
