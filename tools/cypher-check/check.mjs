// Lint every Cypher file of iotgraph with Neo4j's own semantic analysis.
//
// Usage: node check.mjs [--root DIR]
//   DIR is the repository root (default: two folders above this file). The
//   check reads DIR/cypher/**/*.cypher and DIR/graphdb/**/*.py.
//
// A file fails when:
//   - lintCypherQuery (@neo4j-cypher/language-support) reports any error or
//     warning against schema.json and the parameters its `// params:` header
//     declares (a misspelled label, relationship type or read property, a
//     syntax error, an undeclared parameter, a deprecated form);
//   - it names a label, relationship type or property key that schema.json
//     lacks, in any position (lintCypherQuery checks reads only, so a
//     misspelled SET would otherwise pass);
//   - its header declares a parameter that the statement never uses;
//   - it is a store statement (not under browser/) that no cypher.load("...")
//     call in graphdb/ names.
// A cypher.load("...") call naming a missing file fails as well.
// Exit status: 0 when clean, 1 on any finding, 2 on a usage error.

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

import { highlightSyntax, lintCypherQuery, testData } from '@neo4j-cypher/language-support';

const HERE = dirname(fileURLToPath(import.meta.url));
// Neo4j 5 (the neo4j:5 image of docker-compose.yml) speaks Cypher 5 only.
const CYPHER_VERSION = 'CYPHER 5';
const SEVERITY = { 1: 'error', 2: 'warning', 3: 'information', 4: 'hint' };
const LOAD_CALL = /cypher\.load\(\s*["']([^"']+)["']\s*\)/g;
const PARAMS_LINE = /^\/\/\s*params:\s*(.*)$/;

function parseArgs(argv) {
  const options = { root: resolve(HERE, '..', '..') };
  for (let i = 0; i < argv.length; i += 1) {
    if (argv[i] === '--root' && i + 1 < argv.length) {
      options.root = resolve(argv[i + 1]);
      i += 1;
    } else {
      console.error(`unknown argument ${argv[i]}; usage: node check.mjs [--root DIR]`);
      process.exit(2);
    }
  }
  return options;
}

function walk(folder, suffix) {
  let found = [];
  let entries;
  try {
    entries = readdirSync(folder).sort();
  } catch {
    return found;
  }
  for (const entry of entries) {
    const path = join(folder, entry);
    if (statSync(path).isDirectory()) {
      if (entry !== 'node_modules' && entry !== '__pycache__') {
        found = found.concat(walk(path, suffix));
      }
    } else if (entry.endsWith(suffix)) {
      found.push(path);
    }
  }
  return found;
}

// The built-in functions and procedures of Neo4j, from the registry the
// package ships for its own tests, less APOC and GDS: the neo4j:5 community
// image has neither plugin, so a call to one must fail here.
function builtinRegistry(registry) {
  const keep = {};
  for (const [name, signature] of Object.entries(registry[CYPHER_VERSION] ?? {})) {
    if (!/^(apoc|gds)\./.test(name)) {
      keep[name] = signature;
    }
  }
  return { [CYPHER_VERSION]: keep };
}

function loadSchema() {
  const raw = JSON.parse(readFileSync(join(HERE, 'schema.json'), 'utf8'));
  // Keys of parameter rows (row.src) read like property keys to the analyser.
  const propertyKeys = [...new Set([...Object.values(raw.propertyKeys).flat(), ...raw.mapKeys])].sort();
  return {
    labels: raw.labels,
    relationshipTypes: raw.relationshipTypes,
    propertyKeys,
    mapKeys: raw.mapKeys,
    graphSchema: raw.graphSchema,
    functions: builtinRegistry(testData.mockSchema.functions),
    procedures: builtinRegistry(testData.mockSchema.procedures),
  };
}

function declaredParams(text) {
  for (const line of text.split('\n')) {
    const match = PARAMS_LINE.exec(line.trim());
    if (match) {
      const list = match[1].trim();
      return list === 'none' ? [] : list.split(',').map((name) => name.trim()).filter(Boolean);
    }
  }
  return null;
}

function lintFile(path, name, schema, findings) {
  const text = readFileSync(path, 'utf8');
  const params = declaredParams(text);
  if (params === null) {
    findings.push(`${name}:1:1: no '// params:' header line; declare the parameters (or '// params: none')`);
    return;
  }

  const dbSchema = {
    labels: schema.labels,
    relationshipTypes: schema.relationshipTypes,
    propertyKeys: schema.propertyKeys,
    graphSchema: schema.graphSchema,
    functions: schema.functions,
    procedures: schema.procedures,
    defaultLanguage: CYPHER_VERSION,
    parameters: Object.fromEntries(params.map((param) => [param, null])),
  };
  const { diagnostics } = lintCypherQuery(text, dbSchema);
  for (const diagnostic of diagnostics) {
    const { line, character } = diagnostic.range.start;
    const severity = SEVERITY[diagnostic.severity] ?? 'diagnostic';
    findings.push(`${name}:${line + 1}:${character + 1}: ${severity}: ${diagnostic.message}`);
  }

  const known = {
    label: new Set([...schema.labels, ...schema.relationshipTypes]),
    property: new Set([...schema.propertyKeys, ...schema.mapKeys]),
  };
  const used = new Set();
  for (const token of highlightSyntax(text)) {
    const where = `${name}:${token.position.line + 1}:${token.position.startCharacter + 1}`;
    if (token.tokenType === 'label' && !known.label.has(token.token)) {
      findings.push(`${where}: label or relationship type ${token.token} is not in tools/cypher-check/schema.json; fix the spelling or add it there`);
    } else if (token.tokenType === 'property' && !known.property.has(token.token)) {
      findings.push(`${where}: property key ${token.token} is not in tools/cypher-check/schema.json; fix the spelling or add it there`);
    } else if (token.tokenType === 'paramValue') {
      used.add(token.token);
    }
  }
  for (const param of params) {
    if (!used.has(param)) {
      findings.push(`${name}:1:1: parameter ${param} is declared in the header but the statement never uses it`);
    }
  }
}

function loadedNames(root, findings, cypherNames) {
  const loaded = new Set();
  for (const path of walk(join(root, 'graphdb'), '.py')) {
    const lines = readFileSync(path, 'utf8').split('\n');
    lines.forEach((line, index) => {
      for (const match of line.matchAll(LOAD_CALL)) {
        loaded.add(match[1]);
        if (!cypherNames.has(match[1])) {
          findings.push(`${relative(root, path)}:${index + 1}:${match.index + 1}: cypher.load("${match[1]}") names no file; create cypher/${match[1]}.cypher`);
        }
      }
    });
  }
  return loaded;
}

function main() {
  const { root } = parseArgs(process.argv.slice(2));
  const cypherDir = join(root, 'cypher');
  const files = walk(cypherDir, '.cypher');
  if (files.length === 0) {
    console.error(`no .cypher files under ${cypherDir}; pass the repository root with --root`);
    process.exit(2);
  }

  const schema = loadSchema();
  const findings = [];
  const names = new Map();
  for (const path of files) {
    const name = relative(cypherDir, path).split(sep).join('/').replace(/\.cypher$/, '');
    names.set(name, path);
    lintFile(path, relative(root, path), schema, findings);
  }

  const loaded = loadedNames(root, findings, new Set(names.keys()));
  for (const [name, path] of names) {
    if (!name.startsWith('browser/') && !loaded.has(name)) {
      findings.push(`${relative(root, path)}:1:1: no cypher.load("${name}") in graphdb/ uses this statement; delete the file or use it`);
    }
  }

  for (const finding of findings) {
    console.log(finding);
  }
  const summary = `${files.length} Cypher files checked, ${findings.length} finding(s)`;
  if (findings.length > 0) {
    console.error(`cypher-check failed: ${summary}`);
    process.exit(1);
  }
  console.log(`cypher-check passed: ${summary}`);
}

main();
