# sync_bench: a full synchronisation of 10,000 users (card, fingerprint
# template, face photo) to 200 simulated access terminals by default: time,
# peak commands table, database growth, store errors, and whether every
# terminal holds every user. The smoke run uses small numbers.
add_executable(sync_bench ${CMAKE_CURRENT_LIST_DIR}/sync_bench.cpp)
target_link_libraries(sync_bench PRIVATE pushgate_gateway_harness pushgate_sim pushgate_warnings)
add_test(NAME bench_smoke.sync COMMAND sync_bench --smoke)
set_tests_properties(bench_smoke.sync PROPERTIES LABELS bench TIMEOUT 120)
