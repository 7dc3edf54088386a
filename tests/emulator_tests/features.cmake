# Emulator feature tests: query, collections, composite, replication, bulk; each runs an
# in-process emulator on 127.0.0.1 and talks to it over HTTP (libcurl via emu_http.c).
foreach(t query collections composite replication bulk)
  sfa_add_test(test_emu_feat_${t}
    SOURCES test_emu_feat_${t}.c test_emu_feat_common.c emu_http.c
    LIBS sfemu PkgConfig::CURL TIMEOUT 120)
  target_include_directories(test_emu_feat_${t} PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
endforeach()
# Record indexes (external ID, Id) and 10,000-record scale; same fixture as the feature tests.
sfa_add_test(test_emu_index SOURCES test_emu_index.c test_emu_feat_common.c emu_http.c
             LIBS sfemu PkgConfig::CURL TIMEOUT 120)
target_include_directories(test_emu_index PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
