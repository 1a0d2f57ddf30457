# access_bench: remote-identification decisions per second and p50/p99
# latency end to end over HTTP (200 simulated access terminals, 10,000 users,
# 2,000 req/s by default); the smoke run uses small numbers.
add_executable(access_bench ${CMAKE_CURRENT_LIST_DIR}/access_bench.cpp)
target_link_libraries(access_bench PRIVATE pushgate_gateway_harness pushgate_sim pushgate_warnings)
add_test(NAME bench_smoke.access COMMAND access_bench --smoke)
set_tests_properties(bench_smoke.access PROPERTIES LABELS bench TIMEOUT 120)
