# estimator core: memory model and configuration (the lead's area)
llmcal_add_test(NAME test_est_memory SOURCES test_est_memory.c
                LIBS est PkgConfig::JANSSON LABELS unit golden)
llmcal_add_test(NAME test_est_config SOURCES test_est_config.c LIBS est LABELS unit)
# the estimator core stays pure: no stdio, no allocation (ARCHITECTURE.md, STYLE.md 3.2)
add_test(NAME est_purity
         COMMAND sh -c "! grep -rnE 'stdio\\.h|malloc|calloc|realloc|printf' ${PROJECT_SOURCE_DIR}/estimator/src")
set_tests_properties(est_purity PROPERTIES LABELS unit)
# predicted vs measured peak memory of the torchtitan runs (published-public.json)
llmcal_add_test(NAME test_mem_published SOURCES test_mem_published.c
                LIBS est PkgConfig::JANSSON LABELS golden)
