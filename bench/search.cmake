# bench_search: exhaustive-search speed targets of issue 3 (run by hand: ./bench_search)
add_executable(bench_search ${CMAKE_CURRENT_LIST_DIR}/bench_search.c)
target_link_libraries(bench_search PRIVATE est prof llmcal_flags)
