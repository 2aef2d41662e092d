// compare.mjs — joins `faceline bench models --json` with the peers' JSON (peers.mjs --json)
// and prints a side-by-side table: faceline ms, each peer's ms, the ratio peer/faceline
// (> 1: faceline is faster), and whether the issue's speed floors are met:
//   - every model >= 4x faster than TF.js WASM and LiteRT.js at 1 thread;
//   - BlazeFace no slower than ONNX Runtime (blazeface-onnx, the same MediaPipe network)
//     at 1 and at 2 threads.
// Usage: node compare.mjs FACELINE.json|- PEERS.json|- [--json] [--check]
//   '-' reads that input from stdin (at most one of the two). --json prints the joined rows
//   and the floor verdicts as JSON; --check exits 1 when a floor is missed or cannot be
//   judged (a model missing on either side).
// Accepted faceline input: an array of {model, shape, threads, ms, gflops?}, or an object
// holding such an array under "models", "results" or "rows". Shapes may be arrays or
// strings like "1x256x256x3".

import fs from 'node:fs';

const FLOOR_PEER = 4.0;  // faceline must be >= 4x faster than TF.js WASM / LiteRT.js (1 thread)
const FLOOR_ORT = 1.0;   // ... and no slower than ONNX Runtime on BlazeFace (1 and 2 threads)

// Which faceline model a peer row measures, when the names differ.
const PEER_TO_FACELINE = { 'blazeface-onnx': 'blazeface' };

function usage(msg) {
  if (msg) process.stderr.write(`compare.mjs: ${msg}\n`);
  process.stderr.write('usage: node compare.mjs FACELINE.json|- PEERS.json|- [--json] [--check]\n');
  process.exit(2);
}

function readJson(arg) {
  const text = arg === '-' ? fs.readFileSync(0, 'utf8') : fs.readFileSync(arg, 'utf8');
  try {
    return JSON.parse(text);
  } catch (e) {
    // Tolerate log lines around the JSON: take the outermost [...] or {...}.
    const a = Math.min(...['[', '{'].map((c) => text.indexOf(c)).filter((i) => i >= 0));
    const b = Math.max(text.lastIndexOf(']'), text.lastIndexOf('}'));
    if (a >= 0 && b > a) return JSON.parse(text.slice(a, b + 1));
    throw new Error(`${arg}: not JSON (${e.message})`);
  }
}

function rowsOf(j, what) {
  if (Array.isArray(j)) return j;
  for (const k of ['models', 'results', 'rows']) if (j && Array.isArray(j[k])) return j[k];
  throw new Error(`${what}: expected an array of rows`);
}

function shapeOf(s) {
  if (Array.isArray(s)) return s.map(Number);
  if (typeof s === 'string') return s.replace(/[[\]\s]/g, '').split(/[x,×]/).filter(Boolean).map(Number);
  return [];
}

const fmtShape = (s) => (s.length ? s.join('x') : '-');
const fmtMs = (v) => (v == null ? '-' : v < 10 ? v.toFixed(2) : v.toFixed(1));

function main() {
  const args = process.argv.slice(2);
  const files = args.filter((a) => !a.startsWith('--') || a === '-');
  const asJson = args.includes('--json');
  const check = args.includes('--check');
  for (const a of args) if (a.startsWith('--') && !['--json', '--check'].includes(a)) usage(`unknown option ${a}`);
  if (files.length !== 2) usage('need two inputs');
  if (files[0] === '-' && files[1] === '-') usage('only one input can be stdin');

  const fl = rowsOf(readJson(files[0]), files[0]).map((r) => ({
    model: String(r.model), shape: shapeOf(r.shape), threads: Number(r.threads ?? 1),
    ms: Number(r.ms), gflops: r.gflops == null ? null : Number(r.gflops),
  }));
  const peers = rowsOf(readJson(files[1]), files[1]).map((r) => ({
    runtime: String(r.runtime), model: String(r.model), shape: shapeOf(r.shape),
    threads: Number(r.threads ?? 1), ms: Number(r.ms), note: r.note,
  }));

  const findFl = (model, threads) => fl.find((r) => r.model === model && r.threads === threads);

  // One joined row per peer measurement.
  const rows = [];
  for (const p of peers) {
    const flModel = PEER_TO_FACELINE[p.model] || p.model;
    const f = findFl(flModel, p.threads);
    const row = { model: flModel, peer_model: p.model, runtime: p.runtime, threads: p.threads,
                  shape: fmtShape(p.shape), peer_ms: p.ms, faceline_ms: f ? f.ms : null,
                  ratio: null, note: '' };
    if (f) {
      let peerMs = p.ms, flMs = f.ms;
      // Different batch sizes (e.g. a batch-2 peer against a batch-1 faceline row): compare
      // per item.
      const pb = p.shape[0] || 1, fb = f.shape[0] || 1;
      if (p.shape.length && f.shape.length && pb !== fb) {
        peerMs /= pb; flMs /= fb;
        row.note = `per item (batch ${fb} vs ${pb})`;
      } else if (p.shape.length && f.shape.length && fmtShape(p.shape) !== fmtShape(f.shape)) {
        row.note = `shapes differ: faceline ${fmtShape(f.shape)}`;
      }
      row.ratio = peerMs / flMs;
    }
    rows.push(row);
  }

  // Floor verdicts.
  const floors = [];
  const isSlowPeer = (rt) => /^(tfjs|litert)/.test(rt);
  for (const r of rows.filter((x) => isSlowPeer(x.runtime) && x.threads === 1)) {
    floors.push({ floor: `${r.model}: >= ${FLOOR_PEER}x faster than ${r.runtime} (1 thread)`,
                  ratio: r.ratio, ok: r.ratio == null ? null : r.ratio >= FLOOR_PEER });
  }
  for (const t of [1, 2]) {
    const r = rows.find((x) => x.peer_model === 'blazeface-onnx' && x.threads === t);
    const name = `blazeface: no slower than onnxruntime (${t} thread${t > 1 ? 's' : ''})`;
    if (!r) floors.push({ floor: name, ratio: null, ok: null, why: 'no onnxruntime row' });
    else floors.push({ floor: name, ratio: r.ratio, ok: r.ratio == null ? null : r.ratio >= FLOOR_ORT,
                       ...(r.ratio == null ? { why: `no faceline blazeface row at ${t} threads` } : {}) });
  }
  // faceline models no peer measured (so no floor judged for them).
  const unmatched = fl.filter((f) => !rows.some((r) => r.model === f.model && r.threads === f.threads));

  const failed = floors.filter((f) => f.ok === false).length;
  const unknown = floors.filter((f) => f.ok == null).length;

  if (asJson) {
    process.stdout.write(JSON.stringify({ rows, floors, unmatched, failed, unknown }, null, 1) + '\n');
  } else {
    const pad = (s, n) => String(s).padEnd(n);
    const lpad = (s, n) => String(s).padStart(n);
    const out = [];
    out.push(`${pad('model', 19)} ${pad('input', 14)} ${lpad('thr', 3)} ${lpad('faceline', 9)}  ${pad('peer', 12)} ${lpad('peer ms', 9)} ${lpad('ratio', 7)}  note`);
    // Keep the peers' model order; within a model, by threads, then runtime.
    const first = new Map();
    rows.forEach((r, i) => { if (!first.has(r.model)) first.set(r.model, i); });
    const cmp = (a, b) => first.get(a.model) - first.get(b.model) || a.threads - b.threads ||
                          (a.runtime < b.runtime ? -1 : a.runtime > b.runtime ? 1 : 0);
    for (const r of [...rows].sort(cmp)) {
      out.push(`${pad(r.model, 19)} ${pad(r.shape, 14)} ${lpad(r.threads, 3)} ${lpad(fmtMs(r.faceline_ms), 9)}  ` +
               `${pad(r.runtime, 12)} ${lpad(fmtMs(r.peer_ms), 9)} ${lpad(r.ratio == null ? '-' : r.ratio.toFixed(2) + 'x', 7)}  ${r.note}`);
    }
    for (const f of unmatched) {
      out.push(`${pad(f.model, 19)} ${pad(fmtShape(f.shape), 14)} ${lpad(f.threads, 3)} ${lpad(fmtMs(f.ms), 9)}  ${pad('-', 12)} ${lpad('-', 9)} ${lpad('-', 7)}  no peer row`);
    }
    out.push('');
    out.push('ratio = peer ms / faceline ms (> 1: faceline faster)');
    out.push('floors:');
    for (const f of floors) {
      const v = f.ok == null ? 'UNKNOWN' : f.ok ? 'ok' : 'MISSED';
      out.push(`  ${pad(v, 7)} ${f.floor}${f.ratio == null ? '' : `: ${f.ratio.toFixed(2)}x`}${f.why ? ` (${f.why})` : ''}`);
    }
    out.push(`${floors.length - failed - unknown}/${floors.length} floors met` +
             (failed ? `, ${failed} missed` : '') + (unknown ? `, ${unknown} not judged` : ''));
    process.stdout.write(out.join('\n') + '\n');
  }
  if (check && (failed || unknown)) process.exitCode = 1;
}

try {
  main();
} catch (e) {
  process.stderr.write(`compare.mjs: ${e.message}\n`);
  process.exit(2);
}
