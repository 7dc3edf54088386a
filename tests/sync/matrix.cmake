# Fault x operation matrix (in-process emulator), random SIGKILLs of the real `sfagent sync`
# against the standalone emulator, and two concurrent syncs on one database.
# matrix_check.c is the shared convergence checker (docs/sync-protocol.md#verification).
sfa_add_test(test_matrix SOURCES test_matrix.c matrix_check.c push_fixture.c
             LIBS sfagent sfemu PkgConfig::SQLITE3 TIMEOUT 180)
sfa_add_test(test_sync_kill SOURCES test_sync_kill.c matrix_check.c emu_process.c
             LIBS sfagent PkgConfig::SQLITE3 PkgConfig::CURL PkgConfig::CJSON TIMEOUT 180)
add_dependencies(test_sync_kill sfagent-cli sfagent-emulator)
# Late arrivals: a create or update that timed out on the client but lands on the server
# after the engine moved on must not overwrite a newer value (test_late_* in test_matrix.c).
add_test(NAME test_matrix_late_arrival COMMAND test_matrix --late)
set_tests_properties(test_matrix_late_arrival PROPERTIES TIMEOUT 60)
# The matrix and the kills run at the default [sync] parallel (4 batches in flight) above,
# and again here with one request at a time (the environment overrides the setting).
set(one_at_a_time "SFAGENT_SYNC_PARALLEL=1;SFAGENT_BIN=$<TARGET_FILE:sfagent-cli>"
    "SFAGENT_EMULATOR_BIN=$<TARGET_FILE:sfagent-emulator>;SFA_SOURCE_DIR=${PROJECT_SOURCE_DIR}")
add_test(NAME test_matrix_parallel1 COMMAND test_matrix)
set_tests_properties(test_matrix_parallel1 PROPERTIES TIMEOUT 180 ENVIRONMENT "${one_at_a_time}")
add_test(NAME test_sync_kill_parallel1 COMMAND test_sync_kill)
set_tests_properties(test_sync_kill_parallel1 PROPERTIES TIMEOUT 180
                     ENVIRONMENT "${one_at_a_time}")
