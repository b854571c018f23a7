# The GPU campaign's scripts (scripts/gpu/, docs/gpu-campaign.md): what can be checked without a
# GPU and without PyTorch -- the scripts compile, the PyTorch yardstick's dry run emits >= 30
# configurations that `llmcal estimate` accepts, the validate cases fit and the runtime accepts
# them, and campaign.sh runs end to end (every step failing or skipping on its own). Skipped (77)
# where python3 is missing.
foreach(_t compile memory cases campaign)
  add_test(NAME gpuprep_${_t}
           COMMAND bash ${PROJECT_SOURCE_DIR}/scripts/gpu/selftest.sh ${_t} $<TARGET_FILE:llmcal>)
  set_tests_properties(gpuprep_${_t} PROPERTIES LABELS unit SKIP_RETURN_CODE 77 TIMEOUT 120)
endforeach()
