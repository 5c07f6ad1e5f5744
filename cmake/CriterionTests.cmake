# SPDX-License-Identifier: MIT
# ctest sees each Criterion test case, not each program, the way CMake's
# gtest_discover_tests does it for GoogleTest: after a test program is
# built, it is run with --list and the cases it names are written to a
# ctest include file, one add_test() per case, each running the program
# with --filter SUITE/CASE. A failure then names its case, and ctest's
# count is a count of cases.
#
# Included from a CMakeLists.txt, this file defines
#   hcs_criterion_discover_tests(TARGET [TIMEOUT seconds]
#                                [RESOURCE_LOCK name] [COST n]
#                                [LAUNCHER cmd...])
# RESOURCE_LOCK is given to every case (ctest -j runs no two cases that
# hold the same lock at once). COST too: ctest -j starts the cases of
# higher cost first, until a run has left its own times in
# Testing/Temporary/CTestCostData.txt.
# LAUNCHER prefixes the --list run at build time (e.g. setarch -R for a
# ThreadSanitizer build on a kernel whose memory layout TSan refuses).
# Run as a script (cmake -P) it is the build-time step that writes the file.

if(NOT CMAKE_SCRIPT_MODE_FILE)
  set(_HCS_CRITERION_TESTS_SCRIPT ${CMAKE_CURRENT_LIST_FILE})

  function(hcs_criterion_discover_tests target)
    cmake_parse_arguments(PARSE_ARGV 1 arg "" "TIMEOUT;RESOURCE_LOCK;COST"
                          "LAUNCHER")
    if(NOT arg_TIMEOUT)
      set(arg_TIMEOUT 600)
    endif()
    set(dir ${CMAKE_CURRENT_BINARY_DIR})
    set(cases ${dir}/${target}_cases.cmake)
    set(include ${dir}/${target}_include.cmake)
    add_custom_command(TARGET ${target} POST_BUILD
      COMMAND ${CMAKE_COMMAND}
        -D "PROGRAM=$<TARGET_FILE:${target}>"
        -D "NAME=${target}"
        -D "LAUNCHER=${arg_LAUNCHER}"
        -D "TIMEOUT=${arg_TIMEOUT}"
        -D "RESOURCE_LOCK=${arg_RESOURCE_LOCK}"
        -D "COST=${arg_COST}"
        -D "WORKING_DIRECTORY=${dir}"
        -D "OUTPUT=${cases}"
        -P ${_HCS_CRITERION_TESTS_SCRIPT}
      BYPRODUCTS ${cases}
      VERBATIM)
    # ctest reads this before the program may have been built: until it
    # is, one test stands for the program and fails saying so.
    file(WRITE ${include}
      "if(EXISTS \"${cases}\")\n"
      "  include(\"${cases}\")\n"
      "else()\n"
      "  add_test(${target}_NOT_BUILT ${target}_NOT_BUILT)\n"
      "endif()\n")
    set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES ${include})
  endfunction()
  return()
endif()

# Script mode: PROGRAM, NAME, LAUNCHER, TIMEOUT, RESOURCE_LOCK, COST,
# WORKING_DIRECTORY, OUTPUT.
execute_process(
  COMMAND ${LAUNCHER} ${PROGRAM} --list
  OUTPUT_VARIABLE listing
  ERROR_VARIABLE listing_err
  RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  file(REMOVE ${OUTPUT})
  message(FATAL_ERROR "${PROGRAM} --list failed (${rc}):\n${listing_err}")
endif()

# The listing, Criterion 2.4:
#   SUITE: N tests
#   ├── CASE
#   └── CASE (skipped)        <- .disabled = true
string(REPLACE ";" "\\;" listing "${listing}")
string(REPLACE "\n" ";" lines "${listing}")
set(out "# Written by cmake/CriterionTests.cmake from ${PROGRAM} --list\n")
set(suite "")
set(count 0)
foreach(line IN LISTS lines)
  if(line MATCHES "^([A-Za-z0-9_]+): [0-9]+ tests?$")
    set(suite ${CMAKE_MATCH_1})
  elseif(line MATCHES "── ([A-Za-z0-9_]+)( \\(skipped\\))?$")
    set(case ${CMAKE_MATCH_1})
    set(disabled ${CMAKE_MATCH_2})
    if(suite STREQUAL "")
      message(FATAL_ERROR "${PROGRAM} --list: a case before any suite")
    endif()
    set(test "${NAME}:${suite}/${case}")
    # --verbose prints "[SKIP] SUITE::CASE: why" for cr_skip_test(), which
    # ctest then reports as skipped instead of passed. (It also prints
    # every other case as "Test is disabled": they are filtered out.)
    string(APPEND out
      "add_test([=[${test}]=] [=[${PROGRAM}]=] --filter [=[${suite}/${case}]=]"
      " --verbose)\n"
      "set_tests_properties([=[${test}]=] PROPERTIES"
      " WORKING_DIRECTORY [=[${WORKING_DIRECTORY}]=]"
      " TIMEOUT ${TIMEOUT} LABELS ${NAME}"
      " SKIP_REGULAR_EXPRESSION [=[\\[SKIP\\] ${suite}::${case}: ]=])\n")
    if(RESOURCE_LOCK)
      string(APPEND out "set_tests_properties([=[${test}]=] PROPERTIES"
        " RESOURCE_LOCK [=[${RESOURCE_LOCK}]=])\n")
    endif()
    if(COST)
      string(APPEND out "set_tests_properties([=[${test}]=] PROPERTIES"
        " COST ${COST})\n")
    endif()
    if(disabled)
      string(APPEND out
        "set_tests_properties([=[${test}]=] PROPERTIES DISABLED TRUE)\n")
    endif()
    math(EXPR count "${count} + 1")
  endif()
endforeach()
if(count EQUAL 0)
  message(FATAL_ERROR "${PROGRAM} --list named no test case")
endif()
file(WRITE ${OUTPUT} "${out}")
