# Connection behaviour against real loopback clients: echo, framing, flow
# control, limits, cross-thread handles, close/abort/detach, graceful stop.
weft_unit_test(conn_test conn_test.cpp test_support.cpp)
