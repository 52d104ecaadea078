# The HTTP/1.1 server end to end over loopback: keep-alive, pipelining and
# response order, bodies, 100-continue, streaming, async answers, limits,
# slowloris, smuggling defences, abort mid-body.
weft_unit_test(http_server_test http_server_test.cpp test_support.cpp)
