# Sanitizer and fuzzing builds (clang only). The normal build sets neither
# option and is unchanged.
#
#   -DBERTH_SANITIZE=address   AddressSanitizer + UndefinedBehaviorSanitizer
#   -DBERTH_SANITIZE=thread    ThreadSanitizer
#   -DBERTH_FUZZ=ON            also the libFuzzer targets (*_fuzz.cc), with address
#
# Every finding stops the program (no recovery), so a test or fuzz run fails
# on the first one. Code is built with -O1 and line tables: fast enough to
# run the whole unit suite, quick to compile, with symbolised stacks. Asserts
# stay on.
set(BERTH_SANITIZE "" CACHE STRING "Sanitizers: empty, address (ASan+UBSan) or thread (TSan)")
option(BERTH_FUZZ "Build the libFuzzer targets (needs clang and BERTH_SANITIZE=address)" OFF)

if(BERTH_FUZZ AND NOT BERTH_SANITIZE STREQUAL "address")
  message(FATAL_ERROR "BERTH_FUZZ=ON needs BERTH_SANITIZE=address")
endif()

if(BERTH_SANITIZE)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "BERTH_SANITIZE needs clang: configure with -DCMAKE_CXX_COMPILER=clang++")
  endif()
  if(BERTH_SANITIZE STREQUAL "address")
    set(berth_sanitizer_flags -fsanitize=address,undefined -fno-sanitize-recover=all)
  elseif(BERTH_SANITIZE STREQUAL "thread")
    set(berth_sanitizer_flags -fsanitize=thread)
  else()
    message(FATAL_ERROR "BERTH_SANITIZE must be address or thread, not '${BERTH_SANITIZE}'")
  endif()
  # Flags of the build type come before these, so -O1 wins and NDEBUG goes.
  add_compile_options(${berth_sanitizer_flags} -fno-omit-frame-pointer -O1 -gline-tables-only
                      -UNDEBUG)
  add_link_options(${berth_sanitizer_flags})
  # lld links the large instrumented test binaries several times faster than ld.bfd.
  find_program(BERTH_LLD ld.lld)
  if(BERTH_LLD)
    add_link_options(-fuse-ld=lld)
  endif()
endif()

if(BERTH_FUZZ)
  # Coverage feedback for every library; only the fuzz binaries link libFuzzer's main.
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()

# berth_fuzz(name src... LIBS lib...): a libFuzzer target, built only with
# BERTH_FUZZ. Its seed corpus is fuzz/corpus/<name>/ and its dictionary, if
# the format has keywords, fuzz/dict/<name>.dict (fuzz/README.md).
function(berth_fuzz name)
  if(NOT BERTH_FUZZ)
    return()
  endif()
  cmake_parse_arguments(F "" "" "LIBS" ${ARGN})
  add_executable(${name} ${F_UNPARSED_ARGUMENTS})
  target_link_libraries(${name} PRIVATE ${F_LIBS})
  target_link_options(${name} PRIVATE -fsanitize=fuzzer)
  set_property(GLOBAL APPEND PROPERTY BERTH_FUZZ_TARGETS ${name})
endfunction()
