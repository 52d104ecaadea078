# Redialer: backoff arithmetic, and redials over loopback (hang-ups, refused
# dials and giving up, stable connections, stop, a late upstream, server stop).
weft_unit_test(redial_test redial_test.cpp test_support.cpp)
