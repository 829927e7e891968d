#!/usr/bin/env bash
# Stages a study's finished results for a commit: <prefix>.md/.json/.png, the work folder's runs.jsonl and the
# metrics of the runs recorded there (unfinished runs are left out: they restart cleanly next time).
# Usage: scripts/commit-study.sh reports/train/ablation-fashion-official
set -euo pipefail
p="$1"
git add -- "$p.md" "$p.json" "$p.work/runs.jsonl"
[ -f "$p.png" ] && git add -- "$p.png"
node -e '
const fs = require("fs"), p = process.argv[1];
for (const l of fs.readFileSync(p + ".work/runs.jsonl", "utf8").split("\n")) {
  try { const r = JSON.parse(l); const f = `${p}.work/${r.config}-seed${r.seed}/metrics.jsonl`; if (fs.existsSync(f)) console.log(f); } catch {}
}' "$p" | xargs -r git add --
