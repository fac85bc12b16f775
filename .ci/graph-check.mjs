// Parse `kfpx graph` renderings with the real parsers: Mermaid (mermaid.parse, in a jsdom
// window) for *.mmd, Graphviz (compiled to WebAssembly) for *.dot.
// Usage: node .ci/graph-check.mjs FILE... (modules resolved through NODE_PATH).
// Prints `ok FILE` or `FAIL FILE: reason` per file; exits 1 if any failed.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";

const modules = process.env.KFPX_GRAPH_NODE_MODULES;
const require = createRequire(modules ? join(modules, "noop.js") : import.meta.url);
const load = async (name) => import(require.resolve(name));

const { JSDOM } = await load("jsdom");
const dom = new JSDOM("<!DOCTYPE html><body></body>");
globalThis.window = dom.window;
globalThis.document = dom.window.document;
const { Graphviz } = await load("@hpcc-js/wasm-graphviz");
const mermaid = (await load("mermaid")).default;
mermaid.initialize({ startOnLoad: false });
const graphviz = await Graphviz.load();

let failed = 0;
for (const file of process.argv.slice(2)) {
  const text = readFileSync(file, "utf8");
  try {
    if (file.endsWith(".dot")) {
      if (!graphviz.dot(text).includes("<svg")) throw new Error("Graphviz drew no SVG");
    } else {
      await mermaid.parse(text);
    }
    console.log(`ok ${file}`);
  } catch (e) {
    failed++;
    console.log(`FAIL ${file}: ${e?.message ?? e}`);
  }
}
process.exit(failed ? 1 : 0);
