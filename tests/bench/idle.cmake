# idle_bench: pushgated's CPU (utime+stime from /proc/<pid>/stat) while
# 2,000 registered terminals poll every 2 s with nothing queued, a new TCP
# connection per poll, half attendance PUSH and half Security PUSH; also
# requests/s served, p50/p99 poll latency and errors. `--daemon LABEL=PATH`
# (repeatable) measures other builds in the same run. The smoke run is tiny.
add_executable(idle_bench ${CMAKE_CURRENT_LIST_DIR}/idle_bench.cpp)
target_link_libraries(idle_bench PRIVATE pushgate_gateway_harness pushgate_sim pushgate_warnings)
target_compile_definitions(idle_bench PRIVATE PUSHGATED_PATH="$<TARGET_FILE:pushgated>"
                                             PUSHGATE_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
add_dependencies(idle_bench pushgated)
add_test(NAME bench_smoke.idle COMMAND idle_bench --terminals 20 --interval-ms 500 --warmup-s 1
                                       --window-s 2)
set_tests_properties(bench_smoke.idle PROPERTIES LABELS bench TIMEOUT 120)
