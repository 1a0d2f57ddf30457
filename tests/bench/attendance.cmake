# attendance_bench: timecards/s of the attendance rules for a month of
# realistic punches (10,000 users x 31 days by default), plus ingest through
# the incremental engine and the period report.
add_executable(attendance_bench ${CMAKE_CURRENT_LIST_DIR}/attendance_bench.cpp)
target_link_libraries(attendance_bench PRIVATE pushgate_rules_attendance pushgate_warnings)
add_test(NAME bench_smoke.attendance COMMAND attendance_bench --smoke)
set_tests_properties(bench_smoke.attendance PROPERTIES LABELS bench TIMEOUT 30)
