# Pull engine tests against the in-process emulator (docs/sync-protocol.md#pull).
if(SFA_BUILD_EMULATOR)
  sfa_add_test(test_pull SOURCES test_pull.c push_fixture.c LIBS sfagent sfemu PkgConfig::SQLITE3
               TIMEOUT 120)
endif()
if(SFA_BUILD_EMULATOR)
  # A fresh process for one pull-only run (crash points are read once per process).
  add_executable(pull_helper pull_helper.c)
  target_include_directories(pull_helper PRIVATE ${PROJECT_SOURCE_DIR}
                             ${PROJECT_SOURCE_DIR}/include)
  target_link_libraries(pull_helper PRIVATE sfagent)
  sfa_add_test(test_pull_crash SOURCES test_pull_crash.c push_fixture.c LIBS sfagent sfemu
               TIMEOUT 120)
  add_dependencies(test_pull_crash pull_helper)
  target_compile_definitions(test_pull_crash PRIVATE PULL_HELPER="$<TARGET_FILE:pull_helper>")
  # The same for getDeleted and the full Id reconciliation, on a clock the test moves.
  sfa_add_test(test_pull_crash_deletes SOURCES test_pull_crash_deletes.c push_fixture.c
               LIBS sfagent sfemu TIMEOUT 120)
  add_dependencies(test_pull_crash_deletes pull_helper)
  target_compile_definitions(test_pull_crash_deletes PRIVATE
                             PULL_HELPER="$<TARGET_FILE:pull_helper>")
endif()
if(SFA_BUILD_EMULATOR)
  # The real `sfagent sync --pull-only` SIGKILLed at random moments against the
  # standalone emulator serving small pages, then resumed.
  sfa_add_test(test_pull_kill SOURCES test_pull_kill.c emu_process.c
               LIBS sfagent PkgConfig::SQLITE3 PkgConfig::CURL PkgConfig::CJSON TIMEOUT 300)
  add_dependencies(test_pull_kill sfagent-cli sfagent-emulator)
endif()
if(SFA_BUILD_EMULATOR)
  # A host clock two hours off Salesforce's: the pull's bounds follow Salesforce's clock.
  sfa_add_test(test_pull_clock SOURCES test_pull_clock.c push_fixture.c LIBS sfagent sfemu
               TIMEOUT 120)
  add_dependencies(test_pull_clock pull_helper)
  target_compile_definitions(test_pull_clock PRIVATE PULL_HELPER="$<TARGET_FILE:pull_helper>")
endif()
if(SFA_BUILD_EMULATOR)
  # The pull against hand-written answers in Salesforce's documented shapes and against a
  # misbehaving server (script_server.c): paging, marks, getDeleted, scope, hostile pages.
  sfa_add_test(test_pull_conformance SOURCES test_pull_conformance.c push_fixture.c
               script_server.c LIBS sfagent sfemu PkgConfig::MHD PkgConfig::SQLITE3 TIMEOUT 120)
endif()
