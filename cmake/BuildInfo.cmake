# Run at build time (cmake -P) to write build_info.cpp with the current git commit.
# configure_file leaves the output untouched when nothing changed, so this costs no rebuild.
execute_process(
  COMMAND git -C "${SOURCE_DIR}" rev-parse --short=12 HEAD
  OUTPUT_VARIABLE FAULTLINE_GIT_HASH OUTPUT_STRIP_TRAILING_WHITESPACE
  RESULT_VARIABLE rc ERROR_QUIET)
if(NOT rc EQUAL 0 OR FAULTLINE_GIT_HASH STREQUAL "")
  set(FAULTLINE_GIT_HASH "unknown")
else()
  execute_process(
    COMMAND git -C "${SOURCE_DIR}" status --porcelain --untracked-files=no
    OUTPUT_VARIABLE dirty OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
  if(NOT dirty STREQUAL "")
    set(FAULTLINE_GIT_HASH "${FAULTLINE_GIT_HASH}-dirty")
  endif()
endif()
configure_file("${INPUT}" "${OUTPUT}" @ONLY)
