# kTLS probing and reporting (this machine's kernel has no tls ULP: the
# fallback answers are what is checked here; see docs for offload kernels).
weft_unit_test(ktls_test ktls_test.cpp)
target_link_libraries(ktls_test PRIVATE weft_tls)
