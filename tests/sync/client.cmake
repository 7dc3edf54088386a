# Configuration, HTTP client, OAuth/JWT: pure unit tests and emulator integration tests.
sfa_add_test(test_config SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_config.c LIBS sfagent
             TIMEOUT 60)
sfa_add_test(test_client_parse SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_client_parse.c
             LIBS sfagent TIMEOUT 60)
if(SFA_BUILD_EMULATOR)
  # The reachability probe: no HTTP request, down vs up, TLS verified (sync/client/probe.c).
  sfa_add_test(test_probe SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_probe.c
               LIBS sfagent sfemu sfa_test_tls TIMEOUT 60)
  sfa_add_test(test_client_emu SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_client_emu.c
               LIBS sfagent sfemu TIMEOUT 120)
  # `sfagent login` as a function: cmd_login.c and the exit-code table it uses.
  sfa_add_test(test_client_login_cmd SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_client_login_cmd.c
               ${PROJECT_SOURCE_DIR}/agent/cmd_login.c ${PROJECT_SOURCE_DIR}/agent/cli.c
               ${PROJECT_SOURCE_DIR}/agent/cli_config.c
               LIBS sfagent sfemu PkgConfig::CJSON TIMEOUT 60)
endif()
sfa_add_test(test_client_fuzz SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_client_fuzz.c
             LIBS sfagent TIMEOUT 60)
sfa_add_test(test_client_wire SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_client_wire.c
             LIBS sfagent TIMEOUT 60)
# The client against hostile servers (issue 8): hostile_server.c is a scripted loopback HTTP
# server; zlib builds its gzip bombs.
find_package(ZLIB REQUIRED)
sfa_add_test(test_client_hostile SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_client_hostile.c
             ${CMAKE_CURRENT_LIST_DIR}/hostile_server.c LIBS sfagent ZLIB::ZLIB TIMEOUT 120)
