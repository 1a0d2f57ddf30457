# modbus_bench: registers/s and p50/p99 latency for 10 concurrent libmodbus
# clients polling the whole register map, against pushgate's Modbus server in
# a running Gateway and against a reference server shaped like libmodbus's
# own example servers, with the ratio.
if(TARGET pushgate_adapter_modbus)
  add_executable(modbus_bench ${CMAKE_CURRENT_LIST_DIR}/modbus_bench.cpp)
  target_link_libraries(modbus_bench PRIVATE pushgate_gateway_harness pushgate_adapter_modbus
                                             pushgate_warnings)
  add_test(NAME bench_smoke.modbus COMMAND modbus_bench --clients 3 --seconds 0.3 --slots 4 --rounds 1)
  set_tests_properties(bench_smoke.modbus PROPERTIES LABELS bench TIMEOUT 60)
endif()
