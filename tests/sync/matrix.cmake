# Fault x operation matrix (in-process emulator), random SIGKILLs of the real `sfagent sync`
# against the standalone emulator, and two concurrent syncs on one database.
# matrix_check.c is the shared convergence checker (docs/sync-protocol.md#verification).
sfa_add_test(test_matrix SOURCES test_matrix.c matrix_check.c push_fixture.c
             LIBS sfagent sfemu PkgConfig::SQLITE3 TIMEOUT 180)
sfa_add_test(test_sync_kill SOURCES test_sync_kill.c matrix_check.c
             LIBS sfagent PkgConfig::SQLITE3 PkgConfig::CURL PkgConfig::CJSON TIMEOUT 180)
add_dependencies(test_sync_kill sfagent-cli sfagent-emulator)
# Late arrivals: a create or update that timed out on the client but lands on the server
# after the engine moved on must not overwrite a newer value (test_late_* in test_matrix.c).
add_test(NAME test_matrix_late_arrival COMMAND test_matrix --late)
set_tests_properties(test_matrix_late_arrival PROPERTIES TIMEOUT 60)
