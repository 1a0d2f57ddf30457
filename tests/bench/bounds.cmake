# bounds_bench: peak RSS while terminals upload large ATTLOG bodies all at
# once (in-flight body budget, 503 and retry), and nothing lost.
add_executable(bounds_bench ${CMAKE_CURRENT_LIST_DIR}/bounds_bench.cpp)
target_link_libraries(bounds_bench PRIVATE pushgate_gateway_harness pushgate_warnings)
add_test(NAME bench_smoke.bounds COMMAND bounds_bench --uploads 10 --bytes 200000)
set_tests_properties(bench_smoke.bounds PROPERTIES LABELS bench TIMEOUT 300)
