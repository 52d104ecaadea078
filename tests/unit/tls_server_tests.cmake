# TLS on the event loops against an OpenSSL client: echo, versions, ALPN,
# SNI, client certificates, resumption, handshake limits, bad input, kTLS fallback.
weft_unit_test(tls_server_test tls_server_test.cpp tls_client_support.cpp test_support.cpp)
target_link_libraries(tls_server_test PRIVATE weft_tls)
# TLS configuration: JSON fields, listen URLs with tls, and what the Server
# constructor refuses (missing files, mismatched keys).
weft_unit_test(tls_config_test tls_config_test.cpp)
# weft's own TLS 1.3 record layer after the handshake, against OpenSSL's client.
weft_unit_test(tls_records_test tls_records_test.cpp tls_client_support.cpp test_support.cpp)
target_link_libraries(tls_records_test PRIVATE weft_tls)
