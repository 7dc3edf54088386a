# sfa_add_test(NAME SOURCES src... [LIBS lib...] [LABELS l...] [TIMEOUT s])
# One cmocka executable registered with ctest. Tests run with their build dir as
# working directory and SFAGENT_BIN / SFAGENT_EMULATOR_BIN pointing at the programs.
function(sfa_add_test name)
  cmake_parse_arguments(T "" "TIMEOUT" "SOURCES;LIBS;LABELS" ${ARGN})
  add_executable(${name} ${T_SOURCES})
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR} ${PROJECT_SOURCE_DIR}/include
                             ${PROJECT_SOURCE_DIR}/tests)
  target_link_libraries(${name} PRIVATE ${T_LIBS} PkgConfig::CMOCKA)
  add_test(NAME ${name} COMMAND ${name})
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 300)
  endif()
  set_tests_properties(${name} PROPERTIES TIMEOUT ${T_TIMEOUT}
    ENVIRONMENT "SFAGENT_BIN=$<TARGET_FILE:sfagent-cli>;SFAGENT_EMULATOR_BIN=$<TARGET_FILE:sfagent-emulator>;SFA_SOURCE_DIR=${PROJECT_SOURCE_DIR}")
  if(T_LABELS)
    set_tests_properties(${name} PROPERTIES LABELS "${T_LABELS}")
  endif()
endfunction()
