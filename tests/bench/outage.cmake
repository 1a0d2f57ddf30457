# outage_bench: the outage figure of issues 16 and 17 in real wall time: the
# Dahua (pull), BioStar 2 and Suprema device-SDK paths in one gateway, their
# links cut together for --minutes while --events events a path happen, then
# every event stored exactly once, in device order (exit 1 otherwise).
if(TARGET pushgate_adapter_dahua AND TARGET pushgate_adapter_suprema AND TARGET pushgate_adapter_suprema_sdk AND TARGET fake_bs_sdk)
  add_executable(outage_bench ${CMAKE_CURRENT_LIST_DIR}/outage_bench.cpp)
  target_link_libraries(outage_bench PRIVATE pushgate_gateway_harness pushgate_sim
                                             pushgate_adapter_dahua pushgate_adapter_suprema
                                             pushgate_adapter_suprema_sdk fake_bs_sdk
                                             pushgate_warnings)
  target_compile_definitions(outage_bench PRIVATE FAKE_BS_SDK_PATH="$<TARGET_FILE:fake_bs_sdk>")
  add_test(NAME bench_smoke.outage COMMAND outage_bench --minutes 0.1 --events 50 --wait-s 120)
  set_tests_properties(bench_smoke.outage PROPERTIES LABELS bench TIMEOUT 300)
endif()
