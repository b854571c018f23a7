# The ncurses dashboard, linked into llmcal when tui/ was built (ncursesw found).
if(TARGET tui_app)
  target_link_libraries(llmcal PRIVATE tui_app)
  target_compile_definitions(llmcal PRIVATE LLMCAL_HAVE_TUI)
endif()
