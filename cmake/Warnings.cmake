# Warnings for first-party code. Third-party headers (SystemC, TLM, protobuf) come in as
# system includes and are not affected.
function(faultline_set_warnings target)
  target_compile_options(${target} INTERFACE
    -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Woverloaded-virtual
    -Wcast-align -Wformat=2 -Wimplicit-fallthrough -Wmissing-declarations
    $<$<CXX_COMPILER_ID:GNU>:-Wduplicated-cond -Wlogical-op -Wuseless-cast>)
  if(FAULTLINE_WERROR)
    target_compile_options(${target} INTERFACE -Werror)
  endif()
endfunction()
