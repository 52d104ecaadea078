# Shortcuts for developers; build.sh does the work (see README).
BUILD ?= build

.PHONY: all build run test format tidy bench clean

all: build

build:
	BUILD=$(BUILD) ./build.sh build

run:
	BUILD=$(BUILD) ./build.sh run

test:
	BUILD=$(BUILD) ./build.sh test

format:
	clang-format -i $$(git ls-files '*.cpp' '*.hpp' '*.c' '*.h')

tidy: build
	run-clang-tidy -quiet -p $(BUILD) '$(CURDIR)/(src|examples|tools)/.*\.cpp$$'

bench: build
	bench/run_echo.sh $(BUILD)

clean:
	rm -rf $(BUILD) $(BUILD)-asan $(BUILD)-tsan $(BUILD)-fuzz
