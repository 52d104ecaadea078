# smux-compatible multiplexing: the frame codec, config checks and buffer pool, and
# session behaviour over an in-memory transport pair and over loopback.
weft_unit_test(mux_frame_test mux_frame_test.cpp mux_buffer_pool_test.cpp)
weft_unit_test(mux_session_test mux_session_test.cpp test_support.cpp)
# The blocking adapter: threads reading and writing streams that live on a loop.
weft_unit_test(mux_blocking_test mux_blocking_test.cpp test_support.cpp)
