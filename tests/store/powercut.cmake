# Power cuts (F3) through the faultvfs power-cut mode, and OOM torture (F5) of SQLite's
# allocations, for local writes (O1) and open/migrate (O10). RELIABILITY.md 8.3.
sfa_add_test(test_store_powercut SOURCES test_store_powercut.c fault_vfs.c
             LIBS sfa_store_testutil TIMEOUT 120)
if(EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/test_store_oom.c)
  sfa_add_test(test_store_oom SOURCES test_store_oom.c fault_vfs.c LIBS sfa_store_testutil TIMEOUT 120)
endif()
