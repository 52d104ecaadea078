# HTTP/1.1 request parsing: syntax, limits, smuggling defences, chunked
# bodies; and a differential check against libhttp_parser (Debian's nodejs parser).
weft_unit_test(http_parser_test http_parser_test.cpp)
target_link_libraries(http_parser_test PRIVATE weft_http)

find_path(WEFT_HTTP_PARSER_INCLUDE_DIR http_parser.h)
find_library(WEFT_HTTP_PARSER_LIBRARY http_parser)
if(WEFT_HTTP_PARSER_INCLUDE_DIR AND WEFT_HTTP_PARSER_LIBRARY)
  if(NOT TARGET http_parser)
    add_library(http_parser UNKNOWN IMPORTED)
    set_target_properties(http_parser PROPERTIES IMPORTED_LOCATION ${WEFT_HTTP_PARSER_LIBRARY}
                                                 INTERFACE_INCLUDE_DIRECTORIES ${WEFT_HTTP_PARSER_INCLUDE_DIR})
  endif()
  weft_unit_test(http_differential_test http_differential_test.cpp)
  target_link_libraries(http_differential_test PRIVATE weft_http http_parser)
else()
  message(STATUS "libhttp_parser not found (apt-get install libhttp-parser-dev) - skipping http_differential_test")
endif()
