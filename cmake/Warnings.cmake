# weft_warnings: the warning set every weft target compiles with.
add_library(weft_warnings INTERFACE)
target_compile_options(weft_warnings INTERFACE -Wall -Wextra -Wpedantic -Werror
                       -Wshadow -Wnon-virtual-dtor -Wold-style-cast -Wcast-align
                       -Woverloaded-virtual)
