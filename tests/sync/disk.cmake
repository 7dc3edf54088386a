# Disk faults (F4: EIO and ENOSPC at the Nth write or sync) during push runs against the
# in-process emulator, through tests/store/fault_vfs.c. docs/sync-protocol.md#verification, O2-O6 x F4.
sfa_add_test(test_push_disk SOURCES test_push_disk.c push_fixture.c
             ${PROJECT_SOURCE_DIR}/tests/store/fault_vfs.c LIBS sfagent sfemu TIMEOUT 120)
