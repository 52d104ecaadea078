weft_unit_test(config_test config_test.cpp)
weft_unit_test(address_test address_test.cpp)
