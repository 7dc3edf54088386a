# Emulator core tests (server, auth, rows, faults, control, persistence, program).
# emu_http: the libcurl helper every emulator test links (feature tests too).
add_library(emu_http STATIC emu_http.c)
target_include_directories(emu_http PUBLIC ${CMAKE_CURRENT_SOURCE_DIR} ${PROJECT_SOURCE_DIR})
target_link_libraries(emu_http PUBLIC sfemu PkgConfig::CURL PkgConfig::CRYPTO Threads::Threads)

sfa_add_test(test_emu_auth SOURCES test_emu_auth.c LIBS emu_http TIMEOUT 120)
sfa_add_test(test_emu_rows SOURCES test_emu_rows.c LIBS emu_http TIMEOUT 120)
sfa_add_test(test_emu_faults SOURCES test_emu_faults.c LIBS emu_http TIMEOUT 120)
sfa_add_test(test_emu_program SOURCES test_emu_program.c LIBS emu_http TIMEOUT 120)
add_dependencies(test_emu_program sfagent-emulator)
sfa_add_test(test_emu_concurrency SOURCES test_emu_concurrency.c LIBS emu_http TIMEOUT 180)
sfa_add_test(test_emu_tls SOURCES test_emu_tls.c LIBS emu_http TIMEOUT 60)
sfa_add_test(test_emu_store SOURCES test_emu_store.c LIBS emu_http TIMEOUT 60)
