# backup_bench: pushgated --backup taken while simulated terminals upload to
# the real pushgated: ingest rate and CPU before/during, backup time, WAL
# growth, and the copy checked (integrity, every acknowledged record).
add_executable(backup_bench ${CMAKE_CURRENT_LIST_DIR}/backup_bench.cpp)
target_link_libraries(backup_bench PRIVATE pushgate_gateway_harness pushgate_test_support
                                           pushgate_warnings)
target_compile_definitions(backup_bench PRIVATE PUSHGATE_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
                                                PUSHGATED_PATH="$<TARGET_FILE:pushgated>"
                                                PUSHGATE_SIM_PATH="$<TARGET_FILE:pushgate-sim>")
add_dependencies(backup_bench pushgated pushgate-sim)
add_test(NAME bench_smoke.backup COMMAND backup_bench --terminals 10 --preload 200 --records 2000)
set_tests_properties(bench_smoke.backup PROPERTIES LABELS bench TIMEOUT 300)
