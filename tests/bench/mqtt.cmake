# mqtt_bench: live latency (upload to subscriber, p50/p99) and backlog drain
# rate into mosquitto against a bare paho client (issue 4).
if(TARGET pushgate_adapter_mqtt AND TARGET pushgate_mqtt_test_support)
  add_executable(mqtt_bench ${CMAKE_CURRENT_LIST_DIR}/mqtt_bench.cpp)
  target_link_libraries(mqtt_bench PRIVATE pushgate_mqtt_test_support pushgate_adapter_mqtt
                                           pushgate_warnings)
  add_test(NAME bench_smoke.mqtt
           COMMAND mqtt_bench --live-events 400 --rate 200 --drain-events 5000)
  set_tests_properties(bench_smoke.mqtt PROPERTIES LABELS bench TIMEOUT 300)
endif()
