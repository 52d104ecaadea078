# Self-signed certificates and shared session-ticket keys (resumption across
# servers that share a seed, rotation).
weft_unit_test(tls_keys_test tls_keys_test.cpp tls_memory_handshake.cpp)
target_link_libraries(tls_keys_test PRIVATE weft_tls)
