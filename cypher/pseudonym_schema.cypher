// Make Pseudonym ids unique, which also indexes the admin's lookup. The store runs this
// before it first stores pseudonyms; IF NOT EXISTS makes every later run a no-op.
// params: none
CREATE CONSTRAINT pseudonym_id IF NOT EXISTS FOR (p:Pseudonym) REQUIRE p.id IS UNIQUE
