// TestListsOracle's other engine: Ghostery's adblocker decides each request
// of a JSON-lines file from the same lists as blocklists.
//
//   node oracle.mjs REQUESTS.jsonl LIST...
//
// Each request line is {"url", "page", "type"} (type in the WebRequest
// names: script, image, sub_frame…); each output line is {"block",
// "filter"}, in the same order.
import { FiltersEngine, Request } from '@ghostery/adblocker';
import fs from 'node:fs';

const [reqFile, ...lists] = process.argv.slice(2);
const text = lists.map((f) => fs.readFileSync(f, 'utf8')).join('\n');
const engine = FiltersEngine.parse(text, { loadCosmeticFilters: false, loadNetworkFilters: true, debug: true });
const out = [];
for (const line of fs.readFileSync(reqFile, 'utf8').split('\n')) {
  if (line === '') continue;
  const r = JSON.parse(line);
  const m = engine.match(Request.fromRawDetails({ url: r.url, sourceUrl: r.page, type: r.type }));
  out.push(JSON.stringify({ block: m.match, filter: m.filter ? m.filter.toString() : '' }));
}
process.stdout.write(out.join('\n') + '\n');
