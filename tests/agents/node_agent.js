// A stand-in for the Node-based CLI agents (Claude Code, Gemini CLI): like them it
// instantiates WebAssembly (their terminal layout and parsers are compiled to it), then
// edits a file and reports as Codex does. With OPSBOT_INSTRUCTION "hog <MiB>" it also tries
// to allocate that much memory and reports whether it was stopped.
const fs = require("fs");

const found = {};
try {
  new WebAssembly.Memory({ initial: 1, maximum: 65536 });
  found.wasm = "done";
} catch (error) {
  found.wasm = `refused (${error.message})`;
}
const [verb, size] = (process.env.OPSBOT_INSTRUCTION || "").split(" ");
if (verb === "hog") {
  const held = [];
  try {
    for (let i = 0; i < Number(size) / 16; i++) held.push(Buffer.alloc(16 * 1024 * 1024, 1));
    found.hog = "not capped";
  } catch (error) {
    found.hog = `capped (${error.message})`;
  }
}
fs.appendFileSync("NOTES.md", "- edited by a Node agent\n");
const message = { id: "item_1", type: "agent_message", text: JSON.stringify(found) };
console.log(JSON.stringify({ type: "item.completed", item: message }));
