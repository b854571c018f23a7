target_link_libraries(llmcal PRIVATE rt)
