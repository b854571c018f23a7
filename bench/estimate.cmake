# bench_estimate: estimates per second on one core (est_config_resolve + est_memory + est_step_time)
add_executable(bench_estimate ${CMAKE_CURRENT_SOURCE_DIR}/bench_estimate.c)
target_link_libraries(bench_estimate PRIVATE est prof llmcal_flags)
