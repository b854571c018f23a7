# house style: every C source and header is clang-format clean (.clang-format, STYLE.md 3.9);
# skipped (77) where clang-format is not installed
add_test(NAME format
         COMMAND sh -c "command -v clang-format >/dev/null || exit 77; cd '${PROJECT_SOURCE_DIR}' && git ls-files '*.c' '*.h' 2>/dev/null | xargs clang-format --dry-run -Werror"
         WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
set_tests_properties(format PROPERTIES LABELS unit SKIP_RETURN_CODE 77)
