# time model, FLOPs, collectives, search and plan (issue 3); included by estimator/CMakeLists.txt
target_sources(est PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/src/flops.c
  ${CMAKE_CURRENT_LIST_DIR}/src/compute.c
  ${CMAKE_CURRENT_LIST_DIR}/src/collective.c
  ${CMAKE_CURRENT_LIST_DIR}/src/steptime.c
  ${CMAKE_CURRENT_LIST_DIR}/src/search.c
  ${CMAKE_CURRENT_LIST_DIR}/src/plan.c
)
