#!/usr/bin/env bash
# Lint every Cypher file with Neo4j's semantic analysis (see check.mjs).
# Installs the pinned @neo4j-cypher/language-support from package-lock.json
# into node_modules on first use; extra arguments go to check.mjs.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

for tool in node npm; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "cypher-check needs $tool (Node.js 20 or later); install it, e.g. apt-get install -y nodejs npm" >&2
    exit 2
  fi
done

if [ ! -d "$here/node_modules/@neo4j-cypher/language-support" ]; then
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
fi

exec node "$here/check.mjs" "$@"
