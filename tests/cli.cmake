# the llmcal command end to end: JSON contract and bad input (needs jq)
add_test(NAME cli_test COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/cli_test.sh $<TARGET_FILE:llmcal>)
set_tests_properties(cli_test PROPERTIES LABELS "cli" SKIP_RETURN_CODE 77)
