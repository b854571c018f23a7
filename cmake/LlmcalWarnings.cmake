# INTERFACE targets carrying the project's flags (nccl-tests pattern): link them, never touch
# CMAKE_C_FLAGS. llmcal_flags: everything; llmcal_strict: adds -Wconversion (estimator core).
add_library(llmcal_flags INTERFACE)
target_compile_options(llmcal_flags INTERFACE
  $<$<COMPILE_LANGUAGE:C>:-Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes
                          -Wmissing-prototypes -Werror>)
target_compile_definitions(llmcal_flags INTERFACE _POSIX_C_SOURCE=200809L)
if(LLMCAL_SANITIZE)
  target_compile_options(llmcal_flags INTERFACE
    $<$<COMPILE_LANGUAGE:C>:-fsanitize=address,undefined -fno-sanitize-recover=all
                            -fno-omit-frame-pointer>)
  target_link_options(llmcal_flags INTERFACE -fsanitize=address,undefined)
endif()
add_library(llmcal_strict INTERFACE)
target_link_libraries(llmcal_strict INTERFACE llmcal_flags)
target_compile_options(llmcal_strict INTERFACE
  $<$<COMPILE_LANGUAGE:C>:-Wconversion -Wno-sign-conversion>)
