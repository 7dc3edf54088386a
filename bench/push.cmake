# bench_push: 10,000 queued Case creates pushed to the in-process emulator; prints API
# requests, records/s, peak RSS, and elapsed time under 50 ms emulated latency.
add_executable(bench_push ${CMAKE_CURRENT_LIST_DIR}/bench_push.c)
target_include_directories(bench_push PRIVATE ${PROJECT_SOURCE_DIR} ${PROJECT_SOURCE_DIR}/include
                           ${PROJECT_SOURCE_DIR}/tests)
target_link_libraries(bench_push PRIVATE sfagent sfemu)
