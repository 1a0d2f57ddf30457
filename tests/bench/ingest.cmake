# ingest_bench: records/s committed with ack-after-commit from simulated
# terminals over HTTP, against bare SQLite batched inserts of the same rows.
add_executable(ingest_bench ${CMAKE_CURRENT_LIST_DIR}/ingest_bench.cpp)
target_link_libraries(ingest_bench PRIVATE pushgate_gateway_harness pushgate_sim
                                           pushgate_zkpush_protocol pushgate_warnings)
add_test(NAME bench_smoke.ingest COMMAND ingest_bench --terminals 20 --records 200 --batch 50)
set_tests_properties(bench_smoke.ingest PROPERTIES LABELS bench TIMEOUT 300)
target_compile_definitions(ingest_bench PRIVATE PUSHGATED_PATH="$<TARGET_FILE:pushgated>"
                                           PUSHGATE_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
add_dependencies(ingest_bench pushgated)
add_test(NAME bench_smoke.ingest_history
         COMMAND ingest_bench --history 0,5000 --terminals 5 --records 100 --batch 50)
set_tests_properties(bench_smoke.ingest_history PROPERTIES LABELS bench TIMEOUT 300)
