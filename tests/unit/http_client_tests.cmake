# The HTTP/1.1 client (http::fetch) over loopback: our App, https, canned
# answers for every framing, limit and failure.
weft_unit_test(http_client_test http_client_test.cpp test_support.cpp)
target_link_libraries(http_client_test PRIVATE weft_tls)
