# tests of the ncurses dashboard (tui/): pure layout, formatting and state tests, and the tmux
# end-to-end test of the real program (label e2e; skips with 77 without tmux).
if(TARGET tui_lib)
  llmcal_add_test(NAME test_tui_layout SOURCES test_tui_layout.c LIBS tui_lib LABELS unit)
  llmcal_add_test(NAME test_tui_format SOURCES test_tui_format.c LIBS tui_lib LABELS unit)
  llmcal_add_test(NAME test_tui_state SOURCES test_tui_state.c LIBS tui_lib LABELS unit)
  add_test(NAME test_tui_e2e
           COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/tui_e2e.sh $<TARGET_FILE:llmcal>)
  set_tests_properties(test_tui_e2e PROPERTIES LABELS "e2e" SKIP_RETURN_CODE 77 TIMEOUT 120)
endif()
