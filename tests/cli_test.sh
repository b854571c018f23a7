#!/usr/bin/env bash
# cli_test.sh LLMCAL -- the command as a person uses it: the JSON contract of `estimate --json`
# (ARCHITECTURE.md), `list`, and bad input: one line naming the field and the reason, exit 2,
# never a crash. Prints "N passed, N failed".
set -u
LLMCAL=${1:?usage: cli_test.sh path/to/llmcal}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAILED: $*" >&2; }

# expect_error "what" "needle" args... : exit code 2, one stderr line containing needle
expect_error() {
    local what=$1 needle=$2
    shift 2
    "$LLMCAL" "$@" >"$tmp/out" 2>"$tmp/err"
    local rc=$?
    if [ $rc -ne 2 ]; then bad "$what: exit $rc, expected 2"; return; fi
    if ! grep -qF -- "$needle" "$tmp/err"; then bad "$what: stderr lacks '$needle': $(cat "$tmp/err")"; return; fi
    if [ "$(wc -l <"$tmp/err")" -ne 1 ]; then bad "$what: not one line: $(cat "$tmp/err")"; return; fi
    ok
}

# --- the JSON contract
if "$LLMCAL" estimate --model llama-3-8b --gpu h100-sxm --gpus 8 --tp 2 --mbs 1 --seq 4096 --json >"$tmp/e.json"; then ok; else bad "estimate --json exit"; fi
for key in config memory_bytes worst_rank capacity_bytes fits time_s tokens_per_s tflops_per_gpu mfu; do
    if jq -e "has(\"$key\")" "$tmp/e.json" >/dev/null; then ok; else bad "contract key $key"; fi
done
for key in weights gradients optimizer activations logits comm_buffers workspace context fragmentation peak_allocated peak_reserved total; do
    if jq -e ".memory_bytes.$key | type == \"number\" and . == floor and . >= 0" "$tmp/e.json" >/dev/null; then ok; else bad "memory_bytes.$key integer bytes"; fi
done
for key in compute tp_comm cp_comm ep_comm pp_bubble pp_comm dp_comm optimizer iteration; do
    if jq -e ".time_s.$key | type == \"number\"" "$tmp/e.json" >/dev/null; then ok; else bad "time_s.$key"; fi
done
# the groups add up to what the device shows: total = sum of the groups (hand arithmetic on the output)
if jq -e '(.memory_bytes | .weights + .gradients + .optimizer + .activations + .logits + .comm_buffers + .workspace + .context + .fragmentation) >= .memory_bytes.total' "$tmp/e.json" >/dev/null; then ok; else bad "groups cover total"; fi
if jq -e '.memory_bytes.peak_allocated <= .memory_bytes.peak_reserved and .memory_bytes.peak_reserved <= .memory_bytes.total' "$tmp/e.json" >/dev/null; then ok; else bad "allocated <= reserved <= total"; fi
if jq -e '.config.dp == 4 and .config.tp == 2' "$tmp/e.json" >/dev/null; then ok; else bad "resolved dp"; fi
# a Hugging Face config.json path works as --model (Llama-3.1-8B's published config)
cat >"$tmp/config.json" <<'JSON'
{"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 4096,
 "intermediate_size": 14336, "num_attention_heads": 32, "num_hidden_layers": 32,
 "num_key_value_heads": 8, "vocab_size": 128256, "tie_word_embeddings": false,
 "rms_norm_eps": 1e-05, "rope_theta": 500000.0, "max_position_embeddings": 131072}
JSON
if "$LLMCAL" estimate --model "$tmp/config.json" --gpus 8 --json >"$tmp/hf.json" &&
   jq -e '.params.total == 8030261248' "$tmp/hf.json" >/dev/null; then ok; else bad "HF config.json as --model (8,030,261,248 params)"; fi
if "$LLMCAL" list models | grep -q "llama-3.1-405b"; then ok; else bad "list models"; fi

# --- bad input
expect_error "unknown model" "did you mean 'llama-3-70b'" estimate --model lama-3-70b
expect_error "unknown gpu" "unknown GPU 'h1000' (did you mean" estimate --gpu h1000
expect_error "heads not divisible by tp" "tp: 3 does not divide heads=64" estimate --tp 3 --gpus 63
expect_error "gpus not divisible" "gpus: 100 not divisible by tp*pp*cp=8" estimate --gpus 100 --tp 8
expect_error "gbs not divisible" "gbs: 100 not divisible by mbs*dp=64" estimate --gpus 64 --gbs 100
expect_error "uneven layers" "layers: 126 cannot be split evenly over pp=16" estimate --model llama-3.1-405b --gpus 128 --tp 8 --pp 16
expect_error "not an integer" "--tp: '8x' is not an integer" estimate --tp 8x
expect_error "negative mbs" "--mbs: -1 is outside" estimate --mbs -1
expect_error "missing value" "--gpus: needs a value" estimate --gpus
expect_error "unknown flag" "unknown flag '--tensor-paralel'" estimate --tensor-paralel 8
expect_error "unknown enum" "--precision: unknown value 'bf17'" estimate --precision bf17
expect_error "overflowing sizes" "overflow" estimate --model gpt3-175b --gpus 1 --seq 67108864 --mbs 1048576 --attention standard
printf '{"model_type": "llama", "hidden_size": 4096,' >"$tmp/trunc.json"
expect_error "truncated JSON" "trunc.json" estimate --model "$tmp/trunc.json"
printf '{"model_type": "llama", "hidden_size": -4096, "num_attention_heads": 32, "num_hidden_layers": 32, "intermediate_size": 11008, "vocab_size": 32000}' >"$tmp/neg.json"
expect_error "negative field" "hidden_size" estimate --model "$tmp/neg.json"
printf '{"model_type": "llama", "num_attention_heads": 32, "num_hidden_layers": 32, "intermediate_size": 11008, "vocab_size": 32000}' >"$tmp/missing.json"
expect_error "missing field" "hidden_size" estimate --model "$tmp/missing.json"
expect_error "unreadable file" "nope.json" estimate --model "$tmp/nope.json"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
