#!/usr/bin/env bash
# tui_e2e.sh -- drives the real `llmcal tui` in a detached tmux session (send-keys, capture-pane):
# starts it, changes TP and the micro-batch, checks after each change that the memory figures on
# screen are the ones `llmcal estimate --json` gives for the same configuration (formatted with the
# dashboard's rule, tui/include/tui/format.h), runs a search, loads a result, and quits cleanly.
#
# usage: tui_e2e.sh /path/to/llmcal        exit 0 pass, 1 fail, 77 skip (no tmux or python3)
set -u
LLMCAL=${1:?usage: tui_e2e.sh /path/to/llmcal}
command -v tmux >/dev/null 2>&1 || { echo "tmux not installed: skipped"; exit 77; }
command -v python3 >/dev/null 2>&1 || { echo "python3 not installed: skipped"; exit 77; }
[ -x "$LLMCAL" ] || { echo "no llmcal binary at $LLMCAL"; exit 1; }

TMP=$(mktemp -d)
SOCK="llmcal-e2e-$$"
SESSION=e2e
passed=0
failed=0
cleanup() {
    tmux -L "$SOCK" kill-server >/dev/null 2>&1
    rm -rf "$TMP"
}
trap cleanup EXIT

ok() { passed=$((passed + 1)); echo "ok: $1"; }
bad() { failed=$((failed + 1)); echo "FAILED: $1"; }
screen() { tmux -L "$SOCK" capture-pane -p -t "$SESSION"; }
keys() { tmux -L "$SOCK" send-keys -t "$SESSION" "$@"; }

# wait_for PATTERN [seconds]: polls the screen until it contains PATTERN (grep -E)
wait_for() {
    local deadline=$((SECONDS + ${2:-10}))
    while [ $SECONDS -lt $deadline ]; do
        if screen | grep -Eq -- "$1"; then
            return 0
        fi
        sleep 0.1
    done
    return 1
}

# The dashboard's byte format (tui_fmt_bytes): >= 1 GiB "%.2f GiB", >= 1 MiB "%.1f MiB"...
# expect_memory FLAGS...: runs `llmcal estimate FLAGS --json` and checks each figure is on screen.
expect_memory() {
    local what="$1"
    shift
    "$LLMCAL" estimate "$@" --json >"$TMP/est.json" 2>"$TMP/est.err"
    local rc=$?
    if [ $rc -gt 1 ]; then
        bad "$what: llmcal estimate $* failed: $(cat "$TMP/est.err")"
        return
    fi
    screen >"$TMP/screen.txt"
    python3 - "$TMP/est.json" "$TMP/screen.txt" "$what" <<'PY'
import json, sys
est = json.load(open(sys.argv[1]))
scr = open(sys.argv[2], encoding="utf-8").read()
def fmt(b):
    k = 1024.0
    if b >= k ** 3: return "%.2f GiB" % (b / k ** 3)
    if b >= k ** 2: return "%.1f MiB" % (b / k ** 2)
    if b >= k: return "%.1f KiB" % (b / k)
    return "%d B" % b
labels = {"weights": "weights", "gradients": "gradients", "optimizer": "optimizer",
          "activations": "activations"}
missing = []
for key, label in labels.items():
    want = fmt(est["memory_bytes"][key])
    # the legend prints "<label>  <figure>" on one line
    if not any(label in line and want in line.split(label, 1)[1] for line in scr.splitlines()):
        missing.append("%s %s" % (label, want))
total = fmt(est["memory_bytes"]["total"])
if total not in scr:
    missing.append("total " + total)
if missing:
    print("  not on screen: " + ", ".join(missing))
    sys.exit(1)
PY
    if [ $? -eq 0 ]; then ok "$what: memory figures match llmcal estimate"; else bad "$what"; fi
}

BASE=(--model llama-3-70b --gpu h100-sxm --gpus 64 --seq 8192)
tmux -L "$SOCK" new-session -d -s "$SESSION" -x 160 -y 50 \
    "env LANG=C.UTF-8 LC_ALL=C.UTF-8 TERM=xterm-256color '$LLMCAL' tui ${BASE[*]} --tp 1 --mbs 1;\
     echo \"EXIT=\$?\" >'$TMP/exit'; sleep 30"

if wait_for "Memory per GPU" 15; then ok "the dashboard starts"; else
    bad "the dashboard did not start"; screen; exit 1; fi
expect_memory "start (TP 1, mbs 1)" "${BASE[@]}" --tp 1 --mbs 1

# the cursor starts on TP: + doubles it
keys +
if wait_for "TP 2 PP 1 DP 32"; then ok "+ sets TP 2 (DP 32)"; else bad "TP 2 not shown"; fi
expect_memory "TP 2" "${BASE[@]}" --tp 2 --mbs 1
keys l
if wait_for "TP 4 PP 1 DP 16"; then ok "l sets TP 4 (DP 16)"; else bad "TP 4 not shown"; fi
expect_memory "TP 4" "${BASE[@]}" --tp 4 --mbs 1

# down to the micro-batch row (TP, SP, PP, VPP, CP, EP, DP, ZeRO, FSDP, micro-batch: 9 rows)
keys j j j j j j j j j +
if wait_for "micro-batch +[^0-9]*2"; then ok "+ on micro-batch sets 2"; else
    bad "mbs 2 not shown"; fi
expect_memory "TP 4, mbs 2" "${BASE[@]}" --tp 4 --mbs 2

# an invalid value is refused in words: TP 3 does not divide the 64 heads
keys k k k k k k k k k Enter BSpace BSpace 3 Enter
if wait_for "invalid: .*tp"; then ok "TP 3 is shown as invalid, in words"; else
    bad "no invalid message"; fi
keys r
if wait_for "TP 4 PP 1 DP 16"; then ok "r reverts to TP 4"; else bad "r did not revert"; fi

# search, then load the first result
keys s
if wait_for "search done" 60; then ok "the search finishes"; else
    bad "the search did not finish"; fi
screen >"$TMP/search.txt"
# the first table row: "  1  TP PP V CP EP DP Z mbs rc memory iter tok/s MFU" (right of the config)
n='[0-9]+ +'
row=$(grep -oE " 1 +$n$n$n$n$n$n[0-9] +[0-9]+ +(none|sel|full) .*\$" \
      "$TMP/search.txt" | head -1)
if [ -n "$row" ]; then ok "ranked results shown: $row"; else
    bad "no result rows"; cat "$TMP/search.txt"; fi
read -r _ tp pp _ _ _ dp _ <<<"$row"
mem=$(echo "$row" | grep -oE '[0-9.]+ (GiB|MiB)' | head -1)
keys Enter
if wait_for "TP $tp PP $pp DP $dp"; then ok "Enter loads result 1 (TP $tp PP $pp DP $dp)"; else
    bad "result 1 not loaded (TP $tp PP $pp DP $dp)"; screen | head -3; fi
if wait_for "FITS +$mem of"; then ok "loaded result fits with the search's $mem"; else
    bad "loaded memory differs from the search's $mem"; fi

# help overlay, then quit
keys '?'
if wait_for "any key closes it"; then ok "? shows help"; else bad "no help"; fi
keys q
for _ in $(seq 1 50); do
    [ -f "$TMP/exit" ] && break
    sleep 0.1
done
if [ "$(cat "$TMP/exit" 2>/dev/null)" = "EXIT=0" ]; then ok "q quits with status 0"; else
    bad "did not quit cleanly: $(cat "$TMP/exit" 2>/dev/null)"; fi

echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
