weft_unit_test(loop_test loop_test.cpp)
