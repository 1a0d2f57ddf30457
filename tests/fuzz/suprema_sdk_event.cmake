if(TARGET pushgate_adapter_suprema_sdk)  # absent with -DPUSHGATE_ADAPTER_SUPREMA_SDK=OFF
  pushgate_add_fuzzer(suprema_sdk_event LIBS pushgate_adapter_suprema_sdk)
endif()
