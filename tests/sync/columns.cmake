# The mirror's field columns (migration 0013) against every writer, pull and push included.
if(SFA_BUILD_EMULATOR)
  sfa_add_test(test_field_columns SOURCES test_field_columns.c push_fixture.c
               LIBS sfagent sfemu PkgConfig::SQLITE3 TIMEOUT 120)
endif()
