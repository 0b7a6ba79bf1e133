#!/usr/bin/env node
// Writes compact, deterministic contract artifacts from forge's build output.
//
//   node scripts/export-artifacts.js <forge-out-dir> <dest-dir> <Name>...
//
// For every Name, reads <forge-out-dir>/<Name>.sol/<Name>.json and writes <dest-dir>/<Name>.json with
// exactly the keys `abi`, `bytecode` {object} and `deployedBytecode` {object}: the subset of a forge
// artifact that alloy's `sol!(Name, "Name.json")` reads. Output is 2-space indented JSON ending in a
// newline, so the same build always yields byte-identical files.
'use strict';

const fs = require('fs');
const path = require('path');

function fail(message) {
  process.stderr.write(`export-artifacts: ${message}\n`);
  process.exit(1);
}

function bytecodeObject(artifact, key, file) {
  const object = artifact[key] && artifact[key].object;
  if (typeof object !== 'string' || !/^0x[0-9a-fA-F]+$/.test(object)) {
    // Also rejects unlinked library placeholders (__$...$__), which these contracts must not need.
    fail(`${file}: ${key}.object is missing, empty or not plain hex`);
  }
  return object.toLowerCase();
}

function main() {
  const [outDir, destDir, ...names] = process.argv.slice(2);
  if (!outDir || !destDir || names.length === 0) {
    fail('usage: export-artifacts.js <forge-out-dir> <dest-dir> <Name>...');
  }
  fs.mkdirSync(destDir, { recursive: true });
  for (const name of names) {
    const file = path.join(outDir, `${name}.sol`, `${name}.json`);
    let artifact;
    try {
      artifact = JSON.parse(fs.readFileSync(file, 'utf8'));
    } catch (err) {
      fail(`cannot read forge artifact ${file}: ${err.message}`);
    }
    if (!Array.isArray(artifact.abi)) fail(`${file}: no abi array`);
    const compact = {
      abi: artifact.abi,
      bytecode: { object: bytecodeObject(artifact, 'bytecode', file) },
      deployedBytecode: { object: bytecodeObject(artifact, 'deployedBytecode', file) },
    };
    const dest = path.join(destDir, `${name}.json`);
    fs.writeFileSync(dest, `${JSON.stringify(compact, null, 2)}\n`);
  }
}

main();
