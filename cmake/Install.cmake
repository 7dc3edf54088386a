# Install layout (GNUInstallDirs): the programs, libsfagent (static, and shared with a
# SONAME), the public headers, sfagent.pc, the man page, the systemd units, the sysusers.d
# entry and the cron and embedding examples. `cmake --install build --prefix DIR` puts
# them under DIR; sfagent.pc finds its prefix from its own place, so that tree works too.
include(GNUInstallDirs)

option(SFA_BUILD_SHARED "Also build libsfagent.so (the static library linked whole)" ON)
# Relative to the install prefix (so --prefix moves them too); systemd reads both
# /usr/lib/systemd/system and /usr/local/lib/systemd/system. A package may set absolute
# paths (e.g. /lib/systemd/system).
set(SFA_SYSTEMD_UNITDIR "lib/systemd/system" CACHE STRING
    "Where the systemd units go, relative to the prefix or absolute")
set(SFA_SYSUSERSDIR "lib/sysusers.d" CACHE STRING
    "Where the sysusers.d entry for the sfagent user goes, relative to the prefix or absolute")

# The shared library is built from the static one's objects, so they are PIC.
set_target_properties(sfacore sfagent PROPERTIES POSITION_INDEPENDENT_CODE ON)
if(SFA_BUILD_SHARED)
  add_library(sfagent_shared SHARED ${PROJECT_SOURCE_DIR}/cmake/shared_stub.c)
  target_link_libraries(sfagent_shared PRIVATE "$<LINK_LIBRARY:WHOLE_ARCHIVE,sfagent>")
  # Before 1.0 any minor release may change the ABI: the SONAME carries major.minor.
  if(PROJECT_VERSION_MAJOR EQUAL 0)
    set(sfa_soversion ${PROJECT_VERSION_MAJOR}.${PROJECT_VERSION_MINOR})
  else()
    set(sfa_soversion ${PROJECT_VERSION_MAJOR})
  endif()
  set_target_properties(sfagent_shared PROPERTIES OUTPUT_NAME sfagent
                        VERSION ${PROJECT_VERSION} SOVERSION ${sfa_soversion}
                        LINK_DEPENDS ${PROJECT_SOURCE_DIR}/cmake/libsfagent.map)
  target_link_options(sfagent_shared PRIVATE
                      "LINKER:--version-script=${PROJECT_SOURCE_DIR}/cmake/libsfagent.map"
                      "LINKER:--no-undefined")
  install(TARGETS sfagent_shared LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
endif()

install(TARGETS sfagent-cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
if(TARGET sfagent-emulator)
  install(TARGETS sfagent-emulator RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
endif()
install(TARGETS sfagent ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(FILES ${PROJECT_SOURCE_DIR}/include/sfagent.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/sfagent DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
        FILES_MATCHING PATTERN "*.h")

# sfagent.pc: prefix relative to the .pc file (pkg-config's ${pcfiledir}).
file(RELATIVE_PATH SFA_PC_TO_PREFIX "/p/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/p")
string(REGEX REPLACE "/$" "" SFA_PC_TO_PREFIX "${SFA_PC_TO_PREFIX}")
configure_file(${PROJECT_SOURCE_DIR}/cmake/sfagent.pc.in ${PROJECT_BINARY_DIR}/sfagent.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/sfagent.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

install(FILES ${PROJECT_SOURCE_DIR}/docs/sfagent.1 DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)

# systemd: Type=notify with the watchdog (`sfagent run` notifies, agent/notify.c).
set(SFA_SERVICE_TYPE notify)
set(SFA_SERVICE_NOTIFY "NotifyAccess=main\nWatchdogSec=10min\n")
set(SFA_FULL_BINDIR ${CMAKE_INSTALL_FULL_BINDIR})
foreach(unit sfagent.service sfagent-sync.service)
  configure_file(${PROJECT_SOURCE_DIR}/contrib/systemd/${unit}.in
                 ${PROJECT_BINARY_DIR}/contrib/systemd/${unit} @ONLY)
  install(FILES ${PROJECT_BINARY_DIR}/contrib/systemd/${unit} DESTINATION ${SFA_SYSTEMD_UNITDIR})
endforeach()
install(FILES ${PROJECT_SOURCE_DIR}/contrib/systemd/sfagent-sync.timer
        DESTINATION ${SFA_SYSTEMD_UNITDIR})
install(FILES ${PROJECT_SOURCE_DIR}/contrib/systemd/sfagent.sysusers
        DESTINATION ${SFA_SYSUSERSDIR} RENAME sfagent.conf)
install(FILES ${PROJECT_SOURCE_DIR}/contrib/cron/sfagent ${PROJECT_SOURCE_DIR}/examples/embed.c
        DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples)
