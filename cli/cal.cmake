# calibrate and validate (issue 5): link the calibration libraries to the command; the CUDA probes
# and the runtime path of validate when this build has them.
if(TARGET cal_io)
  target_link_libraries(llmcal PRIVATE cal_io est_calib)
endif()
if(TARGET cal_probes)
  target_link_libraries(llmcal PRIVATE cal_probes)
  target_compile_definitions(llmcal PRIVATE LLMCAL_HAVE_PROBES)
endif()
if(TARGET rt)
  target_sources(llmcal PRIVATE ${CMAKE_CURRENT_LIST_DIR}/validate_rt.c)
  target_link_libraries(llmcal PRIVATE rt)
  target_compile_definitions(llmcal PRIVATE LLMCAL_HAVE_RT)
  if(LLMCAL_WITH_CUDA)
    target_link_libraries(llmcal PRIVATE CUDA::cudart)
    set_source_files_properties(${CMAKE_CURRENT_LIST_DIR}/validate_rt.c PROPERTIES
                                COMPILE_DEFINITIONS LLMCAL_HAVE_CUDA)
  endif()
endif()
