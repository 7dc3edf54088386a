# Corpus replay of the libFuzzer targets for the client, config and push parsers
# (docs/sync-protocol.md#verification): each target's LLVMFuzzerTestOneInput is
# linked with fuzz_replay_main.c, which feeds it every file of its corpus. Run the targets
# themselves with clang's libFuzzer (build line at the top of each fuzz/*/fuzz_*.c).
function(sfa_fuzz_replay name target corpus)
  sfa_add_test(${name} SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_replay_main.c
               ${PROJECT_SOURCE_DIR}/fuzz/${target} LIBS sfagent TIMEOUT 60)
  target_compile_definitions(${name} PRIVATE
                             FUZZ_CORPUS_DIR="${PROJECT_SOURCE_DIR}/fuzz/${corpus}"
                             FUZZ_MIN_FILES=15)
endfunction()

sfa_fuzz_replay(test_fuzz_sf_parse_replay client/fuzz_sf_parse.c client/corpus)
sfa_fuzz_replay(test_fuzz_config_replay config/fuzz_config.c config/corpus)
sfa_fuzz_replay(test_fuzz_push_results_replay push/fuzz_push_results.c push/corpus)
sfa_fuzz_replay(test_fuzz_pull_page_replay pull/fuzz_pull_page.c pull/corpus)
