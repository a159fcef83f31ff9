// The list oracle tests' other engine (blocklists/oracle_test.go):
// Ghostery's adblocker decides each request of a JSON-lines file.
//
//   node oracle.mjs REQUESTS.jsonl [LIST...]
//
// Each request line is {"url", "page", "type"} (type in the WebRequest
// names: script, image, sub_frame…), decided by the lists named on the
// command line, or {"url", "page", "type", "list"}, decided by the list
// text it carries. Each output line is {"block", "filter"}, in the same
// order.
import { FiltersEngine, Request } from '@ghostery/adblocker';
import fs from 'node:fs';

const [reqFile, ...lists] = process.argv.slice(2);
const options = { loadCosmeticFilters: false, loadNetworkFilters: true, debug: true };
const engines = new Map();
const engineOf = (text) => {
  let e = engines.get(text);
  if (e === undefined) {
    e = FiltersEngine.parse(text, options);
    engines.set(text, e);
  }
  return e;
};
const filesText = lists.map((f) => fs.readFileSync(f, 'utf8')).join('\n');
const out = [];
for (const line of fs.readFileSync(reqFile, 'utf8').split('\n')) {
  if (line === '') continue;
  const r = JSON.parse(line);
  const engine = engineOf(r.list ?? filesText);
  const m = engine.match(Request.fromRawDetails({ url: r.url, sourceUrl: r.page, type: r.type }));
  out.push(JSON.stringify({ block: m.match, filter: m.filter ? m.filter.toString() : '' }));
}
process.stdout.write(out.join('\n') + '\n');
