# dahua_bench: 100 simulated Dahua devices x 10 events/s live (event on the
# device to MQTT subscriber, p50/p99/max) and a 100,000-record backfill
# (records/s) (issue 16).
if(TARGET pushgate_adapter_dahua AND TARGET pushgate_adapter_mqtt AND TARGET pushgate_mqtt_test_support)
  add_executable(dahua_bench ${CMAKE_CURRENT_LIST_DIR}/dahua_bench.cpp)
  target_link_libraries(dahua_bench PRIVATE pushgate_mqtt_test_support pushgate_sim
                                            pushgate_adapter_mqtt pushgate_adapter_dahua
                                            pushgate_warnings)
  add_test(NAME bench_smoke.dahua
           COMMAND dahua_bench --devices 3 --rate 5 --seconds 2 --backfill 2000 --page 100)
  set_tests_properties(bench_smoke.dahua PROPERTIES LABELS bench TIMEOUT 300)
endif()
