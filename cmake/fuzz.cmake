# -DMPIQ_FUZZ=ON: every target compiled for libFuzzer's coverage with AddressSanitizer and
# UndefinedBehaviorSanitizer (a UB report aborts, so libFuzzer keeps the input), and the targets of
# tests/fuzz. Meant for a build directory of its own (tests/fuzz/run.sh: build-fuzz/, CC=clang CXX=clang++).
if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
  message(FATAL_ERROR "MPIQ_FUZZ needs clang, which ships libFuzzer: configure with CC=clang CXX=clang++ "
                      "(tests/fuzz/run.sh does)")
endif()
add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined
                    -fno-omit-frame-pointer -g)
add_link_options(-fsanitize=address,undefined)
# The shared libhdf5: tests/sanitizers/lsan.supp names HDF5's own leaks by its library.
set(MPIQ_STATIC_HDF5 OFF)
add_subdirectory(tests/fuzz)
