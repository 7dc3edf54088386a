# Push engine tests: pure pieces (no network), and the engine against the in-process
# emulator (push_fixture.c and push_helper are shared with the fault-matrix and crash tests).
sfa_add_test(test_push_unit SOURCES test_push_unit.c LIBS sfagent TIMEOUT 30)
sfa_add_test(test_push_answer SOURCES test_push_answer.c LIBS sfagent TIMEOUT 30)
if(SFA_BUILD_EMULATOR)
  sfa_add_test(test_push SOURCES test_push.c push_fixture.c LIBS sfagent sfemu TIMEOUT 120)

  # A fresh process that syncs a database to convergence (crash points are read once per
  # process, so crash tests run the engine in it).
  add_executable(push_helper push_helper.c)
  target_include_directories(push_helper PRIVATE ${PROJECT_SOURCE_DIR}
                             ${PROJECT_SOURCE_DIR}/include)
  target_link_libraries(push_helper PRIVATE sfagent)

  sfa_add_test(test_push_faults SOURCES test_push_faults.c push_fixture.c LIBS sfagent sfemu
               TIMEOUT 120)
  add_dependencies(test_push_faults push_helper)
  target_compile_definitions(test_push_faults PRIVATE PUSH_HELPER="$<TARGET_FILE:push_helper>")
  sfa_add_test(test_push_keys SOURCES test_push_keys.c push_fixture.c LIBS sfagent sfemu
               TIMEOUT 60)
  sfa_add_test(test_push_mirror SOURCES test_push_mirror.c push_fixture.c LIBS sfagent sfemu
               TIMEOUT 60)
  sfa_add_test(test_push_store_errors SOURCES test_push_store_errors.c push_fixture.c
               LIBS sfagent sfemu TIMEOUT 60)
  # The run's bounds (issue 8): answers that are not Salesforce's, lost answers, Retry-After
  # and far-future times, reference rewriting; script_server.c answers what the emulator
  # never does (redirects, HTML, Retry-After).
  sfa_add_test(test_push_bounds SOURCES test_push_bounds.c push_fixture.c script_server.c
               LIBS sfagent sfemu PkgConfig::MHD TIMEOUT 120)
endif()
if(SFA_BUILD_EMULATOR)
  # Requests in flight ([sync] parallel): overlap seen by the emulator, stop, validation.
  sfa_add_test(test_push_parallel SOURCES test_push_parallel.c push_fixture.c
               LIBS sfagent sfemu TIMEOUT 120)
endif()
if(SFA_BUILD_EMULATOR)
  # Update and delete batch sizes: 800 updates in 2 calls, 1,000 deletes in 1.
  sfa_add_test(test_push_batches SOURCES test_push_batches.c push_fixture.c
               LIBS sfagent sfemu TIMEOUT 120)
endif()
