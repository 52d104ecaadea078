# The HTTP/1.1 client codec: response heads, framing rules, request writing.
weft_unit_test(http_client_codec_test http_client_codec_test.cpp)
target_link_libraries(http_client_codec_test PRIVATE weft_http)
