# retention_bench: the retention soak (issue 19): days of uploads on a fake
# clock, the MQTT broker down half of each day, a budget that forces
# deletion; database size and RSS per day, losses counted and delivered.
if(TARGET pushgate_adapter_mqtt AND TARGET pushgate_mqtt_test_support)
  add_executable(retention_bench ${CMAKE_CURRENT_LIST_DIR}/retention_bench.cpp)
  target_link_libraries(retention_bench PRIVATE pushgate_mqtt_test_support pushgate_adapter_mqtt
                                                pushgate_warnings)
  add_test(NAME bench_smoke.retention
           COMMAND retention_bench --days 3 --events-per-day 20000 --terminals 20 --batch 100
                   --budget 1MB --retain-days 1)
  set_tests_properties(bench_smoke.retention PROPERTIES LABELS bench TIMEOUT 300)
endif()
