# calibration contract (issue 5): est_sample and the estimator's prediction of a sample; pure.
# Included by estimator/CMakeLists.txt.
target_sources(est PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/src/predict.c
)
