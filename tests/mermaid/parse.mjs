// Parse Mermaid blocks with mermaid's own parser, as GitHub would before drawing them.
// Input on stdin: a JSON array of block texts (what is between ```mermaid and ```).
// Prints one line per block ("ok N" or "error N: message"); exits 1 if any block fails.
import { JSDOM } from "jsdom";

const dom = new JSDOM("<!DOCTYPE html><html><body></body></html>", { pretendToBeVisual: true });
globalThis.window = dom.window;
globalThis.document = dom.window.document;
for (const name of ["DOMParser", "Element", "HTMLElement", "Node", "SVGElement"]) {
  if (!(name in globalThis)) globalThis[name] = dom.window[name];
}

const { default: mermaid } = await import("mermaid");
mermaid.initialize({ startOnLoad: false });

let input = "";
for await (const chunk of process.stdin) input += chunk;
const blocks = JSON.parse(input);
let failed = 0;
for (const [i, block] of blocks.entries()) {
  try {
    await mermaid.parse(block);
    console.log(`ok ${i}`);
  } catch (error) {
    failed += 1;
    const message = String(error?.message ?? error).split("\n").join(" ");
    console.log(`error ${i}: ${message}`);
  }
}
process.exit(failed ? 1 : 0);
