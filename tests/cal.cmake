# calibration and validation (issue 5): fits, sample files, calibrated profiles, validate's
# comparison, and the calibrate/validate commands end to end (no GPU needed).
if(TARGET est_calib)
  llmcal_add_test(NAME test_cal_fit SOURCES test_cal_fit.c LIBS est_calib cal_io GSL::gsl
                  LABELS unit)
endif()
if(TARGET cal_io)
  llmcal_add_test(NAME test_cal_io SOURCES test_cal_io.c LIBS cal_io PkgConfig::JANSSON
                  LABELS unit)
endif()
if(TARGET cal_io AND TARGET llmcal)
  llmcal_add_test(NAME test_cal_cli SOURCES test_cal_cli.c LIBS cal_io GSL::gsl PkgConfig::JANSSON
                  LABELS cli ARGS $<TARGET_FILE:llmcal>)
  add_dependencies(test_cal_cli llmcal)
  if(TARGET cal_probes)
    target_compile_definitions(test_cal_cli PRIVATE LLMCAL_TEST_HAVE_PROBES)
  endif()
endif()
