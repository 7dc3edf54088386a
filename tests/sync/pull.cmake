# Pull engine tests against the in-process emulator (docs/sync-protocol.md#pull).
if(SFA_BUILD_EMULATOR)
  sfa_add_test(test_pull SOURCES test_pull.c push_fixture.c LIBS sfagent sfemu TIMEOUT 120)
endif()
