# Every public header compiles alone with the strict flags.
file(GLOB SFA_PUBLIC_HEADERS CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/include/sfagent/*.h
     ${PROJECT_SOURCE_DIR}/include/sfagent.h)
set(hdr_sources)
foreach(h ${SFA_PUBLIC_HEADERS})
  get_filename_component(n ${h} NAME_WE)
  set(src ${CMAKE_CURRENT_BINARY_DIR}/header_alone_${n}.c)
  file(CONFIGURE OUTPUT ${src} CONTENT "#include \"${h}\"\n#include \"${h}\"\nint header_alone_${n}(void);\nint header_alone_${n}(void) { return 0; }\n")
  list(APPEND hdr_sources ${src})
endforeach()
add_library(sfa_header_check OBJECT ${hdr_sources})
target_include_directories(sfa_header_check PRIVATE ${PROJECT_SOURCE_DIR}/include)
add_test(NAME lint COMMAND ${PROJECT_SOURCE_DIR}/scripts/lint.sh)
