# Unit tests of the redis example (parser, commands, store). The example's
# sources are compiled into the test, so it runs whether or not examples
# are built.
weft_unit_test(resp_test resp_test.cpp)
target_sources(resp_test PRIVATE ${PROJECT_SOURCE_DIR}/examples/redis/resp_parser.cpp
                                 ${PROJECT_SOURCE_DIR}/examples/redis/store.cpp
                                 ${PROJECT_SOURCE_DIR}/examples/redis/commands.cpp)
target_include_directories(resp_test PRIVATE ${PROJECT_SOURCE_DIR}/examples/redis)
