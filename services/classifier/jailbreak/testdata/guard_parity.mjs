// Runs llm_guardrail's own JavaScript on the prompts of a JSON file and
// prints, as JSON, each prompt's three confidences (positive-class
// probabilities). Used by the Go parity test.
//
// usage: node guard_parity.mjs <package dir> <prompts.json>
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const [pkgDir, promptsPath] = process.argv.slice(2);
const guard = await import(pathToFileURL(join(pkgDir, 'index.js')).href);
const prompts = JSON.parse(readFileSync(promptsPath, 'utf8'));
const rows = [];
for (const p of prompts) {
  const [inj, jb, mal] = await Promise.all([
    guard.checkInjection(p),
    guard.checkJailbreak(p),
    guard.checkMalicious(p),
  ]);
  // Numbers go out as strings so that NaN or Infinity would survive.
  rows.push([inj.confidence, jb.confidence, mal.confidence].map(String));
}
process.stdout.write(JSON.stringify(rows));
