# Prometheus text exposition of the loop counters, and a live scrape through
# http::metrics_route.
weft_unit_test(metrics_test metrics_test.cpp test_support.cpp)
