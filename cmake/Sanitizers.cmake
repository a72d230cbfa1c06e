# ASan + UBSan build: cmake -DFAULTLINE_SANITIZE=ON (or the "asan" preset).
function(faultline_set_sanitizers target)
  if(FAULTLINE_SANITIZE)
    target_compile_options(${target} INTERFACE
      -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
    target_link_options(${target} INTERFACE -fsanitize=address,undefined)
  endif()
endfunction()
