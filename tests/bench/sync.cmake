# sync_bench: a full synchronisation of 10,000 users (card, fingerprint
# template, face photo) to 200 simulated access terminals by default: time,
# peak commands table, database growth, store errors, and whether every
# terminal holds every user. `--daemon` runs the gateway as a pushgated
# process of its own, to print its resident size and CPU apart from the
# simulators'. The smoke runs use small numbers.
add_executable(sync_bench ${CMAKE_CURRENT_LIST_DIR}/sync_bench.cpp)
target_link_libraries(sync_bench PRIVATE pushgate_gateway_harness pushgate_sim pushgate_warnings
                                         SQLite::SQLite3)
target_compile_definitions(sync_bench PRIVATE PUSHGATED_PATH="$<TARGET_FILE:pushgated>"
                                             PUSHGATE_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
add_dependencies(sync_bench pushgated)
add_test(NAME bench_smoke.sync COMMAND sync_bench --smoke)
set_tests_properties(bench_smoke.sync PROPERTIES LABELS bench TIMEOUT 120)
add_test(NAME bench_smoke.sync_daemon COMMAND sync_bench --smoke --daemon)
set_tests_properties(bench_smoke.sync_daemon PROPERTIES LABELS bench TIMEOUT 120)
