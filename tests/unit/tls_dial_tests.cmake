# Outbound connections from the loops (Server::dial): plain and TLS clients,
# verification on by default, resumption, failures reported before on_open.
weft_unit_test(tls_dial_test tls_dial_test.cpp test_support.cpp)
target_link_libraries(tls_dial_test PRIVATE weft_tls)
