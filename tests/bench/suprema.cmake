# suprema_bench: through each Suprema path (BioStar 2 server and device SDK),
# 100 simulated readers x 10 events/s live (event on the reader to MQTT
# subscriber, p50/p99/max) and a 100,000-event backfill (events/s) (issue 17).
if(TARGET pushgate_adapter_suprema AND TARGET pushgate_adapter_suprema_sdk AND TARGET fake_bs_sdk
   AND TARGET pushgate_adapter_mqtt AND TARGET pushgate_mqtt_test_support)
  add_executable(suprema_bench ${CMAKE_CURRENT_LIST_DIR}/suprema_bench.cpp)
  target_link_libraries(suprema_bench PRIVATE pushgate_mqtt_test_support pushgate_sim fake_bs_sdk
                                              pushgate_adapter_mqtt pushgate_adapter_suprema
                                              pushgate_adapter_suprema_sdk pushgate_warnings)
  target_compile_definitions(suprema_bench PRIVATE FAKE_BS_SDK_PATH="$<TARGET_FILE:fake_bs_sdk>")
  add_test(NAME bench_smoke.suprema
           COMMAND suprema_bench --devices 3 --rate 5 --seconds 2 --backfill 2000 --page 100)
  set_tests_properties(bench_smoke.suprema PROPERTIES LABELS bench TIMEOUT 300)
endif()
