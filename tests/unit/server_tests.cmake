# weft::Server end to end (loopback only): balancing, listeners, UDP,
# descriptor exhaustion, maxAcceptFD, signals, config errors, printStat and
# the echo example binary (hence the dependency on the echo target).
weft_unit_test(server_test server_test.cpp)
target_compile_definitions(server_test PRIVATE WEFT_EXAMPLES_DIR="${CMAKE_BINARY_DIR}/examples")
if(TARGET echo)
  add_dependencies(server_test echo)
endif()
