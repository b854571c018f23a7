#!/usr/bin/env bash
# usage: scripts/tui-screens.sh build/cli/llmcal docs/tui-screens.md
# regenerates docs/tui-screens.md from --snapshot frames and one tmux capture (help overlay)
set -eu
L=$(realpath "$1")
OUT=$(realpath -m "$2")
D=$(mktemp -d)
cp "$(dirname "$0")/../docs/examples/validate-results-example.json" "$D/llmcal-validate.json"
cd "$D"
A="--model llama-3-70b --gpu h100-sxm --gpus 64 --tp 8 --pp 4 --sp --zero 1 --gbs 128"
$L tui --snapshot --size 120x40 $A --tokens 15T --usd-per-gpu-hour 2.5 > main.txt
$L tui --snapshot --size 120x40 $A --page search > search.txt
$L tui --snapshot --size 120x40 $A --page calib > calib.txt
$L tui --snapshot --size 100x30 --model llama-3-70b --gpus 64 --tp 3 > invalid.txt
$L tui --snapshot --size 80x24 --ascii $A > ascii80.txt
tmux -L mkdoc new-session -d -s h -x 100 -y 30 "env LANG=C.UTF-8 TERM=xterm-256color $L tui $A; sleep 5"
sleep 1; tmux -L mkdoc send-keys -t h '?'; sleep 0.5
tmux -L mkdoc capture-pane -p -t h > help.txt
tmux -L mkdoc kill-server
block() { echo '```text'; sed -e 's/[[:space:]]*$//' "$1"; echo '```'; }
{
cat <<'MD'
# llmcal tui: screens

Text captures of the dashboard (`llmcal tui`), made with `--snapshot` (one frame printed as text,
no terminal needed) and, for the help overlay, with tmux `capture-pane`. In a terminal the bars are
coloured blocks; in these text frames (and with `--mono`) each memory component is drawn with its
legend letter (W weights, G gradients, O optimizer, A activations, L logits, C comm buffers,
K workspace, X CUDA context, F fragmentation), `░` is free memory up to the capacity and `│` marks
the usable limit. The time bar uses C compute, T TP comm, X CP comm, E EP comm, B PP bubble,
P PP comm, D DP comm, O optimizer. Every figure is `llmcal estimate`'s for the same flags (the
worst pipeline rank); the dashboard only holds state, lays out and draws.

## Main page (120x40): configuration, memory (per stage when PP > 1), time, calibration

MD
echo '`llmcal tui '"$A"' --tokens 15T --usd-per-gpu-hour 2.5`'
echo
block main.txt
cat <<'MD'

## Search page (`s`, or `--page search`): ranked results, Enter loads one

The search is `est_search` over TP/PP/VPP/CP/EP/ZeRO/micro-batch/recompute for the model, GPU, GPU
count, global batch and sequence shown; in the program it runs on a worker thread (the header shows
the elapsed time; keys keep working; Esc stops it). Enter on a row loads it into the configuration.

MD
block search.txt
cat <<'MD'

## Calibration page (`3`, or `--page calib`): predicted vs measured

Read from `llmcal-validate.json` in the current directory, or `--results FILE`. The example below
was built from published measurements (case ids of /work/shared/validation/published-public.json,
torchtitan A100 runs: measured tokens/s per GPU and MFU) and `llmcal estimate --json` predictions
for the same configurations; `n/a` where a side is missing. Errors within 10% show green, within
25% yellow, else red.

MD
block calib.txt
cat <<'MD'

## An invalid combination is shown in words, not applied silently

`llmcal tui --model llama-3-70b --gpus 64 --tp 3`: the value stays in the editor, the panels and
the status line say why, and `r` goes back to the last valid configuration.

MD
block invalid.txt
cat <<'MD'

## Smallest supported size, ASCII fallback (`--ascii`, 80x24)

Below 80x24 the screen says "terminal too small". The configuration panel scrolls with the cursor.

MD
block ascii80.txt
cat <<'MD'

## Help overlay (`?`), captured from tmux

MD
block help.txt
cat <<'MD'

## Keys

| key | does |
| --- | --- |
| up/down, `j`/`k`, PgUp/PgDn, `g`/`G` | select a configuration row (or a search/calibration row) |
| left/right, `h`/`l`, `-`/`+` | change the value: TP, CP, EP, GPUs, micro/global batch and sequence double or halve; PP steps through divisors of the layer count; enumerations cycle; model/GPU/cluster cycle through the built-in profiles |
| Enter | type a value (Enter applies, Esc cancels); names (`bf16-mixed`), counts (`15T`), a model path or `auto` for the global batch |
| `s` | search this model, GPU and GPU count |
| Esc | stop a running search |
| Tab | move between the configuration and the page's table |
| `1` `2` `3` | main / search / calibration page |
| `r` | revert to the last valid configuration |
| `?` | help |
| `q` | quit |

Options besides the estimate flags: `--ascii`, `--mono`, `--snapshot`, `--size COLSxROWS`,
`--page main|search|calib`, `--results FILE`, `--tokens N`, `--usd-per-gpu-hour X`.

## Validate results file

The calibration panel reads this shape (`llmcal validate` writes it; any extra keys are ignored):

```json
{"cases": [
  {"name": "torchtitan_a100_llama3_70B_full",
   "predicted": {"tokens_per_s_per_gpu": 343.4, "mfu": 0.5299, "iteration_s": 23.85},
   "measured":  {"tokens_per_s_per_gpu": 331,   "mfu": 0.517,  "iteration_s": null}}
]}
```

- `cases`: array, required. Each case: `name` (string), `predicted` and `measured` (objects),
  all required.
- Every key of `predicted` or `measured` is one metric row; its value is a number or `null`
  (shown as `n/a`, never 0). A metric in only one of the two is shown with `n/a` on the other side.
- Units follow the key's suffix: `*_bytes` are bytes (shown in GiB/MiB), `*_s` seconds, anything
  else a plain number (fractions such as `mfu` stay fractions).
- The error column is (predicted - measured) / measured.
- A malformed file is reported in the status line with the file, line and column, or the field:
  `llmcal-validate.json: cases[2].measured: missing or not an object`.
MD
} > "$OUT"
rm -rf "$D"
