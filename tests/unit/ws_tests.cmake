# WebSocket: the codec's pieces (frames, masking, UTF-8, handshake), the
# receive path against every RFC 6455 rule, permessage-deflate, and the
# server end to end over loopback (handshake, echo, close codes, keepalive,
# compression, back-pressure).
weft_unit_test(ws_codec_test ws_codec_test.cpp)
weft_unit_test(ws_decoder_test ws_decoder_test.cpp)
weft_unit_test(ws_deflate_test ws_deflate_test.cpp)
weft_unit_test(ws_server_test ws_server_test.cpp test_support.cpp)
# The client (ws::connect) against our own server, ws:// and wss://.
weft_unit_test(ws_client_test ws_client_test.cpp test_support.cpp)
target_link_libraries(ws_client_test PRIVATE weft_tls)
# Topics (publish/subscribe): one loop and two, compression mixed, slow subscribers.
weft_unit_test(ws_topics_test ws_topics_test.cpp test_support.cpp)
