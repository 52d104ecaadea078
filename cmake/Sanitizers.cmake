# WEFT_SANITIZE=address adds ASan+UBSan, =thread adds TSan, to every target.
if(WEFT_SANITIZE STREQUAL "address")
  # No vptr check: it validates memory with pipe(), which fails in the
  # descriptor-exhaustion tests and turns every first virtual call into a
  # false "invalid vptr" report.
  add_compile_options(-fsanitize=address,undefined -fno-sanitize=vptr -fno-omit-frame-pointer
                      -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
elseif(WEFT_SANITIZE STREQUAL "thread")
  add_compile_options(-fsanitize=thread -fno-omit-frame-pointer)
  add_link_options(-fsanitize=thread)
elseif(NOT WEFT_SANITIZE STREQUAL "")
  message(FATAL_ERROR "WEFT_SANITIZE must be '', 'address' or 'thread'")
endif()
