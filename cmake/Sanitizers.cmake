# ASan + UBSan build: cmake -DFAULTLINE_SANITIZE=ON (or the "asan" preset).
function(faultline_set_sanitizers target)
  if(FAULTLINE_SANITIZE)
    target_compile_options(${target} INTERFACE
      -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
    target_link_options(${target} INTERFACE -fsanitize=address,undefined)
  endif()
endfunction()

# libFuzzer build (scripts/fuzz.sh): cmake -DFAULTLINE_FUZZ=ON with clang. First-party code
# gets coverage instrumentation; the fuzz targets in tests/fuzz link libFuzzer's main.
function(faultline_set_fuzzing target)
  if(FAULTLINE_FUZZ)
    if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
      message(FATAL_ERROR "FAULTLINE_FUZZ needs clang (CXX=clang++): libFuzzer is part of clang")
    endif()
    target_compile_options(${target} INTERFACE -fsanitize=fuzzer-no-link)
  endif()
endfunction()
