# bench_tui: dashboard key latency (key -> state -> estimate -> layout -> frame) for a 405B model on
# 16,384 GPUs, and the search time for the same model (issue 6: every key within 50 ms).
if(TARGET tui_lib)
  add_executable(bench_tui ${CMAKE_CURRENT_SOURCE_DIR}/bench_tui.c)
  target_link_libraries(bench_tui PRIVATE tui_lib llmcal_flags)
endif()
