// Renders bench/run.sh's raw results (one JSON object a line) as the Markdown table, the ratios
// and the verdict against issue 4's targets.   usage: node table.mjs RESULTS.jsonl
import { readFileSync } from 'node:fs';

const lines = readFileSync(process.argv[2], 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
// Every row was measured once per round: keep each key's median round (by requests/s) and the range.
const runs = lines.filter((l) => l.kind === 'row');
const rows = [];
for (const key of [...new Set(runs.map((r) => r.key))]) {
  const all = runs.filter((r) => r.key === key).sort((x, y) => x.rps - y.rps);
  const median = all[Math.floor((all.length - 1) / 2)];
  rows.push({ ...median, n: all.length, min_rps: all[0].rps, max_rps: all.at(-1).rps,
    errors_all: all.reduce((a, r) => a + r.non2xx + r.socket, 0) });
}
const facts = Object.fromEntries(lines.filter((l) => l.kind === 'fact').map((l) => [l.key, l]));
const row = (key) => rows.find((r) => r.key === key);

const fmt = (n, digits = 0) =>
  n === undefined || n === null || Number.isNaN(n) ? 'n/a' : Number(n).toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const out = [];
out.push('| scenario | server | requests/s | range (runs) | p50 ms | p99 ms | errors (non-2xx + socket) | peak RSS MiB | server CPU µs/req |');
out.push('|---|---|---:|---:|---:|---:|---:|---:|---:|');
for (const r of rows) {
  out.push(
    `| ${r.scenario} | ${r.name} | ${fmt(r.rps)} | ${fmt(r.min_rps)}-${fmt(r.max_rps)} (${r.n}) | ${fmt(r.p50_ms, 2)} | ${fmt(r.p99_ms, 2)} | ${fmt(r.non2xx + r.socket)}` +
      `${r.non2xx + r.socket ? ` (${r.non2xx} + ${r.socket})` : ''}${r.errors_all !== r.non2xx + r.socket ? `; all runs ${r.errors_all}` : ''} | ${fmt(r.rss_mib, 1)} | ${fmt(r.cpu_us, 1)} |`,
  );
}

const verdicts = [];
const check = (label, ok, detail) => verdicts.push(`| ${label} | ${detail} | ${ok ? 'met' : '**missed**'} |`);
const ratio = (a, b) => (a && b ? a.rps / b.rps : NaN);

const aIg = row('a.igauth');
const aCeil = row('a.ceiling');
if (aIg && aCeil) {
  const r = ratio(aIg, aCeil);
  const errs = aIg.errors_all;
  check('(a) repeated token: igauth-cached / ceiling >= 0.8, zero errors', r >= 0.8 && errs === 0, `${fmt(r, 2)}x (medians), ${errs} errors in ${aIg.n} runs`);
}
const bIg = row('b.igauth');
for (const key of ['b.node-fetch', 'b.node-undici']) {
  const n = row(key);
  if (bIg && n) {
    const r = ratio(bIg, n);
    const errs = bIg.errors_all;
    check(`(b) new token: igauth-uncached / ${n.name} >= 3`, r >= 3 && errs === 0, `${fmt(r, 2)}x (medians), ${errs} errors in ${bIg.n} runs`);
  }
}
const cIg = row('c.igauth');
if (cIg) {
  const share = cIg.rps / 2560;
  check('(c) 100 ms upstream, 256 conns: >= 90% of 2560/s', share >= 0.9, `${fmt(cIg.rps)}/s = ${fmt(share * 100, 1)}%`);
  check('(c) 100 ms upstream, 256 conns: p99 <= 150 ms', cIg.p99_ms <= 150, `p99 ${fmt(cIg.p99_ms, 1)} ms`);
}
const d = facts['d.igauth'];
if (d) {
  check(
    '(d) 64 identical new validations: exactly 1 upstream call, 64 valid',
    d.upstream_calls === 1 && d.valid === d.sent,
    `${d.upstream_calls} upstream call(s), ${d.valid}/${d.sent} valid, ${d.joins} single-flight joins, answers ${d.first_ms}-${d.last_ms} ms`,
  );
}
const e = facts['e.igauth'];
if (e) {
  check(
    '(e) peak RSS with 100000 cached verdicts <= 64 MiB',
    e.hwm_mib <= 64 && e.cached >= 100000 * 0.99,
    `VmHWM ${fmt(e.hwm_mib, 1)} MiB (VmRSS ${fmt(e.rss_mib, 1)} MiB), ${fmt(e.cached)} entries cached, ${fmt(e.upstream_calls)} upstream calls`,
  );
}

out.push('');
out.push('| target (issue 4) | measured | |');
out.push('|---|---|---|');
out.push(...verdicts);

const extra = [];
const dNode = facts['d.node-undici'];
if (dNode) extra.push(`- (d) for contrast, the Node contender made ${dNode.upstream_calls} upstream calls for the same 64-request burst.`);
const aNolog = row('a.igauth-nolog');
if (aNolog && aIg && aCeil) {
  extra.push(
    `- diagnostic: igauth with RUST_LOG=warn (no per-request access log line) serves ${fmt(aNolog.rps)}/s cached = ` +
      `${fmt(ratio(aNolog, aCeil), 2)}x ceiling (${fmt((ratio(aNolog, aIg) - 1) * 100, 0)}% more than with the default info log).`,
  );
}
const cNode = row('c.node-undici');
if (cNode) extra.push(`- (c) the Node contender (undici) at 100 ms upstream: ${fmt(cNode.rps)}/s, p99 ${fmt(cNode.p99_ms, 1)} ms.`);
if (extra.length) out.push('', ...extra);
console.log(out.join('\n'));
